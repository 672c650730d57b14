from django.contrib import admin
from django.urls import include, path

from interactions.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", api.urls),
    path("", include("secondmind.dashboard_urls")),
]
