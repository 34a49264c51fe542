"""The core app's pages (the project URLconf is `marketplace/urls.py`)."""

from django.urls import path

from . import views

app_name = "marketplace"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("help/", views.HelpIndexView.as_view(), name="help"),
    path("help/<slug:slug>/", views.HelpGuideView.as_view(), name="help_guide"),
    path("privacy/", views.PrivacyView.as_view(), name="privacy"),
    path("terms/", views.TermsView.as_view(), name="terms"),
    path("contact/", views.ContactView.as_view(), name="contact"),
    path("preferences/language/", views.preferred_language_view, name="preferred_language"),
    path("preferences/name/", views.full_name_view, name="full_name"),
    path("profile/", views.SupplierProfileView.as_view(), name="supplier_profile"),
    path("program/users/", views.RoleUserListView.as_view(), name="role_user_list"),
    path("program/users/<int:pk>/", views.RoleUserDetailView.as_view(), name="role_user_detail"),
    path("program/users/<int:pk>/grant/", views.role_grant_view, name="role_grant"),
    path("program/users/<int:pk>/revoke/<slug:role>/", views.role_revoke_view, name="role_revoke"),
    path("program/approvals/", views.ApprovalListView.as_view(), name="approval_list"),
    path("program/approvals/<int:pk>/", views.ApprovalDetailView.as_view(), name="approval_detail"),
    path(
        "program/approvals/<int:pk>/approve/",
        views.approval_approve_view,
        name="approval_approve",
    ),
    path("program/approvals/<int:pk>/reject/", views.approval_reject_view, name="approval_reject"),
    path(
        "program/approvals/<int:pk>/withdraw/",
        views.approval_withdraw_view,
        name="approval_withdraw",
    ),
    path("notifications/", views.InboxView.as_view(), name="inbox"),
    path("notifications/<int:pk>/open/", views.notification_open_view, name="notification_open"),
    path("notifications/<int:pk>/read/", views.notification_read_view, name="notification_read"),
    path(
        "notifications/read-all/",
        views.notifications_read_all_view,
        name="notifications_read_all",
    ),
    path(
        "notifications/settings/",
        views.NotificationPreferencesView.as_view(),
        name="notification_preferences",
    ),
    path(
        "notifications/unsubscribe/<str:token>/",
        views.UnsubscribeView.as_view(),
        name="unsubscribe",
    ),
    path("program/operations/", views.OperationsView.as_view(), name="operations"),
    path(
        "program/operations/notifications/<int:pk>/retry/",
        views.notification_retry_view,
        name="notification_retry",
    ),
    path(
        "program/operations/notifications/retry-given-up/",
        views.notifications_retry_all_view,
        name="notifications_retry_all",
    ),
]
