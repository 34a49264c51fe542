from django.urls import path

from . import views

app_name = "opportunities"

urlpatterns = [
    path("", views.OpportunityListView.as_view(), name="list"),
    path("feed/", views.open_feed, name="feed"),
    path("feed/skill/<slug:slug>/", views.skill_feed, name="skill_feed"),
    path("<int:pk>/", views.OpportunityDetailView.as_view(), name="detail"),
]
