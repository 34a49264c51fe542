from django.urls import path

from . import views

app_name = "bids"

urlpatterns = [
    path("", views.BidListView.as_view(), name="list"),
    path("terms/", views.TermsView.as_view(), name="terms"),
    path("start/<int:opportunity_pk>/", views.bid_start_view, name="start"),
    path("<int:pk>/", views.BidDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.bid_edit_view, name="edit"),
    path("<int:pk>/autosave/", views.bid_autosave_view, name="autosave"),
    path("<int:pk>/submit/", views.bid_submit_view, name="submit"),
    path("<int:pk>/withdraw/", views.bid_withdraw_view, name="withdraw"),
    path("<int:pk>/discard/", views.bid_discard_view, name="discard"),
    path("<int:pk>/confirm/", views.bid_confirm_view, name="confirm"),
    path("<int:pk>/receipts/<int:number>/", views.ReceiptView.as_view(), name="receipt"),
    path("<int:pk>/attachments/", views.attachment_add_view, name="attachment_add"),
    path(
        "<int:pk>/attachments/<int:attachment_pk>/",
        views.attachment_download_view,
        name="attachment",
    ),
    path(
        "<int:pk>/attachments/<int:attachment_pk>/remove/",
        views.attachment_remove_view,
        name="attachment_remove",
    ),
]
