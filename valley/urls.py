from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from valley import views
from valley.accounts import views as account_views
from valley.audit import views as audit_views
from valley.exports import views as export_views
from valley.guides import views as guide_views
from valley.observability import views as observability_views
from valley.privacy import views as privacy_views

admin.site.site_header = _("Shanxi Innovation Valley — staff")
admin.site.site_title = _("Valley Portal administration")
admin.site.index_title = _("Work areas")

# A database that is down answers 503 wherever the error arose (valley.web.middleware); anything else, 500.html.
handler500 = "valley.views.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("my/", views.my_home, name="my_home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", observability_views.readyz, name="readyz"),
    path("metrics", observability_views.metrics_view, name="metrics"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/signup/", account_views.signup, name="signup"),
    path("accounts/signup/done/", account_views.signup_done, name="signup_done"),
    path("accounts/confirm/again/", account_views.resend_confirmation, name="resend_confirmation"),
    path("accounts/confirm/<str:token>/", account_views.confirm_email, name="confirm_email"),
    path("accounts/two-factor/", account_views.two_factor_verify, name="two_factor_verify"),
    path("accounts/two-factor/setup/", account_views.two_factor_setup, name="two_factor_setup"),
    path("accounts/reauth/", account_views.reauthenticate, name="reauthenticate"),
    path("accounts/login/", account_views.login_page, name="login"),
    path("accounts/keepalive/", account_views.keepalive, name="session_keepalive"),
    path("accounts/password_change/", account_views.password_change, name="password_change"),
    path("accounts/password_reset/", account_views.password_reset, name="password_reset"),
    path("accounts/reset/<uidb64>/<token>/", account_views.password_reset_confirm, name="password_reset_confirm"),
    path("accounts/my-data/", privacy_views.my_data, name="my_data"),
    path("accounts/my-data/download/", privacy_views.my_data_download, name="my_data_download"),
    path("accounts/delete/", privacy_views.account_delete, name="account_delete"),
    path("accounts/delete/cancel/", privacy_views.account_delete_cancel, name="account_delete_cancel"),
    path("privacy/", privacy_views.notice, name="privacy_notice"),
    path("privacy/consent/", privacy_views.consent, name="privacy_consent"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("exports/", export_views.export_list, name="export_list"),
    path("exports/<slug:name>.csv", export_views.export_download, name="export_download"),
    path("exports/<slug:name>.xlsx", export_views.export_download_xlsx, name="export_download_xlsx"),
    path("audit/check/", audit_views.audit_check, name="audit_check"),
    path("guides/", guide_views.guide_index, name="guide_index"),
    path("guides/<slug:code>/", guide_views.guide_detail, name="guide_detail"),
    path("teams/", include("teams.urls")),
    path("funding/", include("funding.urls")),
    path("tolerance/", include("tolerance.urls")),
    path("api/", include("valley.web.api_urls")),
]

if settings.VALLEY_BENCH:  # load tests only: see valley/bench_site.py
    from bench import bench_site

    urlpatterns += [
        path("bench/minimal/", bench_site.minimal, name="bench_minimal"),
        path("bench/stock-admin/", bench_site.stock_site.urls),
    ]
