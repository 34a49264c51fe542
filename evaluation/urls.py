from django.urls import path

from . import views

app_name = "evaluation"

urlpatterns = [
    path("<int:pk>/", views.overview_view, name="overview"),
    path("<int:pk>/draw/", views.draw_view, name="draw"),
    path("<int:pk>/panel/", views.appoint_view, name="appoint"),
    path("<int:pk>/panel/<int:member_pk>/chair/", views.make_chair_view, name="make_chair"),
    path("<int:pk>/declare/", views.declare_view, name="declare"),
    path("<int:pk>/packets/", views.packet_list_view, name="packets"),
    path("<int:pk>/packets/<int:packet_pk>/", views.packet_view, name="packet"),
    path(
        "<int:pk>/packets/<int:packet_pk>/attachments/<int:number>/",
        views.packet_attachment_view,
        name="packet_attachment",
    ),
    path("<int:pk>/submit/", views.marks_submit_view, name="submit"),
    path("<int:pk>/consensus/", views.consensus_list_view, name="consensus"),
    path(
        "<int:pk>/consensus/<int:packet_pk>/",
        views.consensus_packet_view,
        name="consensus_packet",
    ),
    path("<int:pk>/lock/", views.lock_view, name="lock"),
    path("<int:pk>/reveal/", views.reveal_view, name="reveal"),
    path("<int:pk>/award/", views.award_view, name="award"),
    path("<int:pk>/access-log/", views.access_log_view, name="access_log"),
]
