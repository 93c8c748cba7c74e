from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from valley import views

admin.site.site_header = _("Shanxi Innovation Valley — staff")
admin.site.site_title = _("Valley Portal administration")
admin.site.index_title = _("Work areas")

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("teams/", include("teams.urls")),
    path("funding/", include("funding.urls")),
    path("tolerance/", include("tolerance.urls")),
    path("api/", include("valley.api")),
]
