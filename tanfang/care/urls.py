from django.urls import path

from tanfang.care import emergency_views, hazard_views, need_views, views

app_name = "care"
urlpatterns = [
    # The village's open items (待办事项); above a village, the places to choose from.
    path("", views.board, name="board"),
    path("board/<str:code>/", views.board, name="board_region"),
    # The subtree's lists (需求清单, 隐患清单, 应急事件).
    path("needs/", views.need_list, name="need_list"),
    path("hazards/", views.hazard_list, name="hazard_list"),
    path("emergencies/", views.emergency_list, name="emergency_list"),
    # Raising for an elder (the file, a visit's record with ?visit=<id>).
    path("elders/<int:elder_id>/needs/new/", views.need_new, name="need_new"),
    path("elders/<int:elder_id>/hazards/new/", views.hazard_new, name="hazard_new"),
    path("elders/<int:elder_id>/emergencies/new/", views.emergency_new, name="emergency_new"),
    # One need.
    path("needs/<int:need_id>/", need_views.need_detail, name="need"),
    path("needs/<int:need_id>/measure/", need_views.need_measure, name="need_measure"),
    path("needs/<int:need_id>/status/", need_views.need_status, name="need_status"),
    path(
        "needs/<int:need_id>/not-resolved/",
        need_views.need_not_resolved,
        name="need_not_resolved",
    ),
    # One hazard.
    path("hazards/<int:hazard_id>/", hazard_views.hazard_detail, name="hazard"),
    path("hazards/<int:hazard_id>/edit/", hazard_views.hazard_edit, name="hazard_edit"),
    path("hazards/<int:hazard_id>/remind/", hazard_views.hazard_remind, name="hazard_remind"),
    path("hazards/<int:hazard_id>/remove/", hazard_views.hazard_remove, name="hazard_remove"),
    path("hazards/<int:hazard_id>/reopen/", hazard_views.hazard_reopen, name="hazard_reopen"),
    path("hazards/<int:hazard_id>/photo/", hazard_views.hazard_photo, name="hazard_photo"),
    # One emergency.
    path("emergencies/<int:emergency_id>/", emergency_views.emergency_detail, name="emergency"),
    path(
        "emergencies/<int:emergency_id>/steps/",
        emergency_views.emergency_step,
        name="emergency_step",
    ),
    path(
        "emergencies/<int:emergency_id>/close/",
        emergency_views.emergency_close,
        name="emergency_close",
    ),
    path(
        "emergencies/<int:emergency_id>/call/<int:contact_id>/",
        emergency_views.emergency_call,
        name="emergency_call",
    ),
]
