"""The core app's pages (the project URLconf is `marketplace/urls.py`)."""

from django.urls import path

from . import views

app_name = "marketplace"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("preferences/language/", views.preferred_language_view, name="preferred_language"),
    path("profile/", views.SupplierProfileView.as_view(), name="supplier_profile"),
    path("program/users/", views.RoleUserListView.as_view(), name="role_user_list"),
    path("program/users/<int:pk>/", views.RoleUserDetailView.as_view(), name="role_user_detail"),
    path("program/users/<int:pk>/grant/", views.role_grant_view, name="role_grant"),
    path("program/users/<int:pk>/revoke/<slug:role>/", views.role_revoke_view, name="role_revoke"),
]
