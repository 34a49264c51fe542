from django.urls import path

from . import views

app_name = "opportunities"

urlpatterns = [
    path("", views.OpportunityListView.as_view(), name="list"),
    path("new/", views.OpportunityCreateView.as_view(), name="create"),
    path("feed/", views.open_feed, name="feed"),
    path("awarded/", views.AwardedListView.as_view(), name="awarded"),
    path("feed/skill/<slug:slug>/", views.skill_feed, name="skill_feed"),
    path("review/", views.ReviewQueueView.as_view(), name="review_queue"),
    path("guardrails/", views.GuardrailsView.as_view(), name="guardrails"),
    path("alerts/", views.AlertView.as_view(), name="alert"),
    path("alerts/delete/", views.alert_delete_view, name="alert_delete"),
    path("<int:pk>/", views.OpportunityDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.OpportunityUpdateView.as_view(), name="edit"),
    path("<int:pk>/submit/", views.opportunity_submit_view, name="submit"),
    path("<int:pk>/recall/", views.OpportunityRecallView.as_view(), name="recall"),
    path("<int:pk>/discard/", views.OpportunityDiscardView.as_view(), name="discard"),
    path("<int:pk>/amend/", views.OpportunityAmendView.as_view(), name="amend"),
    path("<int:pk>/questions/", views.question_ask_view, name="ask"),
    path(
        "<int:pk>/questions/<int:question_pk>/answer/",
        views.question_answer_view,
        name="answer",
    ),
    path(
        "<int:pk>/questions/<int:question_pk>/dismiss/",
        views.question_dismiss_view,
        name="dismiss_question",
    ),
    path("<int:pk>/watch/", views.watch_toggle_view, name="watch"),
    path("<int:pk>/cancel/", views.OpportunityCancelView.as_view(), name="cancel"),
    path("<int:pk>/review/", views.ReviewView.as_view(), name="review"),
    path("<int:pk>/publish/", views.opportunity_publish_view, name="publish"),
    path(
        "<int:pk>/request-changes/", views.opportunity_request_changes_view, name="request_changes"
    ),
]
