from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("contracts/<int:pk>/", views.contract_view, name="contract"),
    path("contracts/<int:pk>/accept/", views.accept_terms_view, name="accept_terms"),
    path("contracts/<int:pk>/deliver/", views.deliver_view, name="deliver"),
    path("contracts/<int:pk>/changes/", views.request_changes_view, name="request_changes"),
    path("contracts/<int:pk>/certify/", views.certify_view, name="certify"),
    path("contracts/<int:pk>/default/", views.default_view, name="default"),
]
