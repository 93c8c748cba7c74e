"""The portfolio pages: the fund list, a fund's dashboard, and "run the check now" for staff."""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tolerance import selectors
from tolerance.models import Fund, Verdict
from tolerance.services import compliance_check_run
from valley.messaging import outbox


def portfolio_reader(view):
    """Staff and auditors only: applicants get 403, visitors the login page."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not selectors.user_can_view_portfolio(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
@portfolio_reader
def fund_list(request):
    return render(
        request,
        "tolerance/fund_list.html",
        {"funds": selectors.fund_list(), "can_run": selectors.user_can_run_checks(request.user)},
    )


@require_GET
@portfolio_reader
def fund_dashboard(request, fund_id: int):
    """The fund's figures, chart and lists are the same for every reader: the template caches those
    sections per fund, language and `dashboard_stamp` for FUND_DASHBOARD_CACHE_SECONDS, and the
    dashboard's queries run only when a section is not in the cache. The header, the access check
    and the "run the check now" button are made on every request."""
    try:
        fund = selectors.fund_with_dashboard_stamp(fund_id=fund_id)
    except Fund.DoesNotExist:
        raise Http404(_("There is no such fund.")) from None
    return render(
        request,
        "tolerance/fund_dashboard.html",
        {
            "fund": fund,
            "dashboard": SimpleLazyObject(lambda: selectors.fund_dashboard(fund=fund)),
            "cache_seconds": settings.FUND_DASHBOARD_CACHE_SECONDS,
            "can_run": selectors.user_can_run_checks(request.user),
        },
    )


def _report_message(request, report) -> None:
    facts = {
        "fund": report.fund.name,
        "as_of": report.as_of.isoformat(),
        "verdict": report.get_verdict_display(),
        "count": report.shown_rate_by_count,
        "amount": report.shown_rate_by_amount,
    }
    if report.verdict == Verdict.NO_DATA:
        text = _("%(fund)s as of %(as_of)s: no data (no investment meets all five standards, so there is no rate).")
    else:
        text = _("%(fund)s as of %(as_of)s: %(verdict)s (by count %(count)s, by amount %(amount)s).")
    level = {
        Verdict.WITHIN: messages.SUCCESS,
        Verdict.WARNING: messages.WARNING,
        Verdict.NO_DATA: messages.INFO,
    }.get(report.verdict, messages.ERROR)
    messages.add_message(request, level, text % facts)


@require_POST
@login_required
def fund_check_run(request, fund_id: int):
    if not selectors.user_can_run_checks(request.user):
        raise PermissionDenied
    fund = Fund.objects.filter(pk=fund_id).first()
    if fund is None:
        raise Http404(_("There is no such fund."))
    report = compliance_check_run(fund=fund, as_of=timezone.localdate(), by=request.user)
    _report_message(request, report)
    return redirect("tolerance:fund_dashboard", fund_id=fund.pk)


@require_POST
@login_required
def fund_check_run_all(request):
    """Every fund at once goes to the worker (one task per fund), so the page answers at once."""
    if not selectors.user_can_run_checks(request.user):
        raise PermissionDenied
    from tolerance.tasks import RUN_ALL_TASK

    as_of = timezone.localdate().isoformat()
    outbox.enqueue(RUN_ALL_TASK, as_of=as_of, by_id=request.user.pk)
    messages.success(
        request, _("The checks of every fund as of %(as_of)s are queued; reload in a moment.") % {"as_of": as_of}
    )
    return redirect("tolerance:fund_list")
