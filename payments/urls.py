from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("", views.payment_list_view, name="list"),
    path("<int:pk>/", views.payment_view, name="detail"),
    path("<int:pk>/record/", views.record_view, name="record"),
    path("<int:pk>/checkout/", views.checkout_view, name="checkout"),
    path("<int:pk>/checkout/done/", views.checkout_return_view, name="checkout_return"),
    path("<int:pk>/confirm/", views.confirm_view, name="confirm"),
    path("<int:pk>/problem/", views.report_missing_view, name="report_missing"),
    path("<int:pk>/invoice/", views.invoice_view, name="invoice"),
    path("<int:pk>/invoice.pdf", views.invoice_pdf_view, name="invoice_pdf"),
    path("oversight/", views.oversight_view, name="oversight"),
    path("card-limits/<int:user_pk>/", views.card_limit_view, name="card_limit"),
    path("stripe/onboard/", views.stripe_onboard_view, name="stripe_onboard"),
    path("stripe/refresh/", views.stripe_refresh_view, name="stripe_refresh"),
    path("stripe/return/", views.stripe_return_view, name="stripe_return"),
    path("contracts/<int:pk>/", views.contract_view, name="contract"),
    path("contracts/<int:pk>/accept/", views.accept_terms_view, name="accept_terms"),
    path("contracts/<int:pk>/decline/", views.decline_view, name="decline"),
    path("contracts/<int:pk>/deliver/", views.deliver_view, name="deliver"),
    path("contracts/<int:pk>/files/<int:file_pk>/", views.delivery_file_view, name="file"),
    path("contracts/<int:pk>/changes/", views.request_changes_view, name="request_changes"),
    path("contracts/<int:pk>/certify/", views.certify_view, name="certify"),
    path("contracts/<int:pk>/default/", views.default_view, name="default"),
]
