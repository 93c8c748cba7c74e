from django.urls import path

from tolerance import valuation_views, views

app_name = "tolerance"

urlpatterns = [
    path("funds/", views.fund_list, name="fund_list"),
    path("funds/check/", views.fund_check_run_all, name="fund_check_run_all"),
    path("funds/<int:fund_id>/", views.fund_dashboard, name="fund_dashboard"),
    path("funds/<int:fund_id>/check/", views.fund_check_run, name="fund_check_run"),
    path("investments/<int:investment_id>/marks/", valuation_views.investment_marks, name="investment_marks"),
    path("investments/<int:investment_id>/documents/", views.investment_documents, name="investment_documents"),
    path("documents/<int:document_id>/", views.investment_document_download, name="investment_document_download"),
    path("documents/<int:document_id>/delete/", views.investment_document_delete, name="investment_document_delete"),
]
