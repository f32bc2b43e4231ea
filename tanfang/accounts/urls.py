from django.urls import path

from tanfang.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("otp/", views.otp_view, name="otp"),
    path("me/", views.my_account, name="me"),
    path("me/password/", views.password_view, name="password"),
    path("me/otp/", views.otp_setup, name="otp_setup"),
    path("users/", views.user_list, name="user_list"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:user_id>/", views.user_detail, name="user_detail"),
    path(
        "users/<int:user_id>/reset-password/", views.user_reset_password, name="user_reset_password"
    ),
    path("users/<int:user_id>/unlock/", views.user_unlock, name="user_unlock"),
    path("users/<int:user_id>/reset-otp/", views.user_reset_otp, name="user_reset_otp"),
]
