from django.urls import path

from tanfang.registry import change_report_views, printing, reveal_views, views

app_name = "registry"
urlpatterns = [
    path("", views.elder_list, name="list"),
    path("new/", views.elder_register, name="register"),
    # A visitor's other elders of the village, by masked name, to record a visit.
    path("others/", views.elder_others, name="others"),
    # A death or a move reported by a visitor, confirmed by the liaison.
    path("changes/", change_report_views.report_list, name="change_reports"),
    path("changes/<int:report_id>/", change_report_views.report_decide, name="change_report"),
    path("<int:elder_id>/report-change/", change_report_views.report_new, name="report_change"),
    path("<int:elder_id>/", views.elder_file, name="file"),
    path("<int:elder_id>/status/", views.elder_status, name="status"),
    path("<int:elder_id>/edit/<slug:section>/", views.elder_edit, name="edit"),
    path("<int:elder_id>/categories/", views.elder_categories, name="categories"),
    path("<int:elder_id>/review/", views.elder_review, name="review"),
    path("<int:elder_id>/tier/", views.elder_tier, name="tier"),
    path("<int:elder_id>/history/", views.elder_history, name="history"),
    # Before the file's repeated parts: "life-events" is not one of their kinds.
    path("<int:elder_id>/life-events/", views.life_event_new, name="life_event_new"),
    path(
        "<int:elder_id>/life-events/<int:life_event_id>/withdraw/",
        views.life_event_withdraw,
        name="life_event_withdraw",
    ),
    path("<int:elder_id>/<slug:kind>/new/", views.item_edit, name="item_new"),
    path("<int:elder_id>/<slug:kind>/<int:item_id>/", views.item_edit, name="item"),
    path("<int:elder_id>/<slug:kind>/<int:item_id>/remove/", views.item_remove, name="item_remove"),
    path("reviews/", views.review_overview, name="reviews"),
    path("<int:elder_id>/reveal/<str:field>/", reveal_views.reveal_field, name="reveal"),
    path(
        "<int:elder_id>/contacts/<int:contact_id>/reveal/",
        reveal_views.reveal_contact_phone,
        name="reveal_contact",
    ),
    path(
        "<int:elder_id>/household/<int:member_id>/reveal/<str:field>/",
        reveal_views.reveal_member_field,
        name="reveal_member",
    ),
    path("<int:elder_id>/print/", printing.print_form, name="print"),
    path("print-blank/", printing.print_blank, name="print_blank"),
]
