from django.urls import path

from funding import views

app_name = "funding"

urlpatterns = [
    path("", views.my_applications, name="mine"),
    path("new/", views.application_new, name="new"),
    path("notices/", views.notices, name="notices"),
    path("queues/", views.queues, name="queues"),
    path("queues/<slug:queue>/", views.queue, name="queue"),
    path("budgets/", views.budgets, name="budgets"),
    path("<int:pk>/", views.application_detail, name="detail"),
    path("<int:pk>/edit/", views.application_edit, name="edit"),
    path("<int:pk>/act/<slug:name>/", views.application_transition, name="transition"),
    path("<int:pk>/approve/", views.application_approve, name="approve"),
    path("<int:pk>/objection/", views.application_object, name="object"),
    path("<int:pk>/objection/clear/", views.application_clear_objection, name="clear_objection"),
    path("<int:pk>/lead/claim/", views.lead_claim, name="lead_claim"),
    path("<int:pk>/lead/assign/", views.lead_assign, name="lead_assign"),
    path("<int:pk>/reviewers/", views.review_assign, name="assign_reviewer"),
    path("<int:pk>/review/", views.review_submit, name="review"),
    path("<int:pk>/documents/", views.document_attach, name="attach_document"),
    path("<int:pk>/documents/<int:document_pk>/remove/", views.document_detach, name="detach_document"),
    path("<int:pk>/registration/", views.registration_verify, name="verify_registration"),
    path("<int:pk>/disburse/", views.disburse, name="disburse"),
    # the grant after the money: applicant
    path("<int:pk>/grant/", views.grant, name="grant"),
    path("reports/<int:pk>/", views.report_detail, name="report"),
    path("reports/<int:pk>/documents/", views.report_attach_document, name="report_attach_document"),
    path(
        "reports/<int:pk>/documents/<int:document_pk>/remove/",
        views.report_detach_document,
        name="report_detach_document",
    ),
    path("reports/<int:pk>/decide/", views.report_decide, name="report_decide"),
    # The grant after the money: staff
    path("<int:pk>/acceptance/", views.acceptance, name="acceptance"),
    path("<int:pk>/recovery/", views.recovery_open, name="recovery_open"),
    path("<int:pk>/recovery/repayment/", views.repayment, name="repayment"),
    path("<int:pk>/registration/revise/", views.revise_amount, name="revise_amount"),
    path("<int:pk>/registration/reject/", views.reject_at_registration, name="reject_at_registration"),
]
