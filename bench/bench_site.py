"""Baselines for the load test, mounted under /bench/ only when VALLEY_BENCH is on (never in production).

- `minimal`: the smallest Django view, served by the same stack (middleware, gunicorn, settings), the
  yardstick every page's throughput is divided by;
- `stock_site`: ModelAdmins of the big tables as a newcomer would write them (list_display and
  list_filter, nothing else), so the load test can compare the portal's admin lists with Django's
  defaults over the same rows in the same run.
"""

from django.contrib import admin
from django.http import HttpResponse

from funding.models import Application, ApplicationEvent
from tolerance.models import Investment


def minimal(request):
    return HttpResponse("ok", content_type="text/plain")


stock_site = admin.AdminSite(name="stock_admin")


@admin.register(Application, site=stock_site)
class StockApplicationAdmin(admin.ModelAdmin):
    list_display = ["id", "entity", "sub_venue", "state", "amount", "approved_amount", "submitted_at"]
    list_filter = ["state", "sub_venue", "submitted_at"]


@admin.register(ApplicationEvent, site=stock_site)
class StockApplicationEventAdmin(admin.ModelAdmin):
    list_display = ["at", "application", "action", "from_state", "to_state", "by"]
    list_filter = ["action", "to_state", "at"]


@admin.register(Investment, site=stock_site)
class StockInvestmentAdmin(admin.ModelAdmin):
    list_display = ["startup", "fund", "invested_on", "principal", "stake", "state", "meets_standards"]
    list_filter = ["state", "meets_standards", "failure_kind", "fund"]
