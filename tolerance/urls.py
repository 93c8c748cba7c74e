from django.urls import path

from tolerance import monitoring_views, valuation_views, views

app_name = "tolerance"

urlpatterns = [
    path("funds/", views.fund_list, name="fund_list"),
    path("funds/check/", views.fund_check_run_all, name="fund_check_run_all"),
    path("funds/<int:fund_id>/", views.fund_dashboard, name="fund_dashboard"),
    path("funds/<int:fund_id>/check/", views.fund_check_run, name="fund_check_run"),
    path("cases/", views.case_list, name="case_list"),
    path("cases/<int:case_id>/", views.case_detail, name="case_detail"),
    path("funds/<int:fund_id>/evaluation/<int:year>/", monitoring_views.fund_evaluation, name="fund_evaluation"),
    path(
        "funds/<int:fund_id>/evaluation/<int:year>.csv",
        monitoring_views.fund_evaluation_csv,
        name="fund_evaluation_csv",
    ),
    path("company-reports/", monitoring_views.report_queue, name="report_queue"),
    path("company-reports/<int:report_id>/", monitoring_views.report_detail, name="report_detail"),
    path("company-reports/<int:report_id>/decide/", monitoring_views.report_decide, name="report_decide"),
    path("companies/<int:entity_id>/", monitoring_views.company_history, name="company_history"),
    path("my/<int:entity_id>/reports/", monitoring_views.my_reports, name="my_reports"),
    path("my/<int:entity_id>/reports/<int:report_id>/", monitoring_views.my_report, name="my_report"),
    path("investments/<int:investment_id>/marks/", valuation_views.investment_marks, name="investment_marks"),
    path("investments/<int:investment_id>/documents/", views.investment_documents, name="investment_documents"),
    path("documents/<int:document_id>/", views.investment_document_download, name="investment_document_download"),
    path("documents/<int:document_id>/delete/", views.investment_document_delete, name="investment_document_delete"),
]
