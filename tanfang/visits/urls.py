from django.urls import path

from tanfang.visits import late_views, roster_views, views

app_name = "visits"
urlpatterns = [
    path("", views.home, name="home"),
    # The phone pages: the visit form, one visit, the village board (views.py).
    path("new/<int:elder_id>/", views.visit_new, name="new"),
    path("check/<int:elder_id>/", views.visit_check, name="check"),
    path("call/<int:elder_id>/", views.call, name="call"),
    path("address/<int:elder_id>/", views.address, name="address"),
    path("<int:visit_id>/", views.visit_detail, name="visit"),
    path("<int:visit_id>/photo/", views.visit_photo, name="photo"),
    path("board/", views.board, name="board"),
    path("board/<str:code>/", views.board, name="board_region"),
    path("tasks/<int:task_id>/excuse/", views.task_excuse, name="task_excuse"),
    path("elders/<int:elder_id>/recent/", views.elder_visits, name="elder_visits"),
    # 补录审核: late entries decided by township and county (late_views.py).
    path("late/", late_views.review, name="late_list"),
    path("late/<int:visit_id>/", late_views.decide, name="late_decide"),
    # The roster (探访人员) and the assignments (包干): tanfang/visits/roster_views.py.
    path("visitors/", roster_views.visitor_list, name="visitor_list"),
    path("visitors/new/", roster_views.visitor_new, name="visitor_new"),
    path("visitors/<int:visitor_id>/", roster_views.visitor_detail, name="visitor_detail"),
    path("visitors/<int:visitor_id>/edit/", roster_views.visitor_edit, name="visitor_edit"),
    path(
        "visitors/<int:visitor_id>/deactivate/",
        roster_views.visitor_deactivate,
        name="visitor_deactivate",
    ),
    path("assignments/", roster_views.assignments, name="assignments"),
    path("assignments/<str:code>/", roster_views.assign_region, name="assign_region"),
    path("elders/<int:elder_id>/assign/", roster_views.assign_elder, name="assign_elder"),
    path(
        "elders/<int:elder_id>/assignments/",
        roster_views.elder_assignments,
        name="elder_assignments",
    ),
    path(
        "elders/<int:elder_id>/assignments/end/",
        roster_views.end_assignment,
        name="end_assignment",
    ),
]
