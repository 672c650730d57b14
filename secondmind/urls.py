from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from interactions.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    # no password reset: there is no mail server to send its link; staff set passwords in the admin
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("api/v1/", api.urls),
    path("", include("secondmind.dashboard_urls")),
]
