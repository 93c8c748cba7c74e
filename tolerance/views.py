"""The portfolio pages: the fund list, a fund's dashboard, "run the check now" for staff, and the investments'
documents (listed for their readers, uploaded and removed by portfolio managers, downloaded through a check)."""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tolerance import documents, figures, monitoring_selectors, selectors
from tolerance.forms import InvestmentDocumentForm
from tolerance.models import Fund, Investment, InvestmentDocument, Verdict
from tolerance.portfolio import InvalidRecord
from tolerance.services import compliance_check_run
from valley import audit
from valley.core.documents import download_response
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


DASHBOARD_DOCUMENTS = 20  # the most recent documents of a fund listed on its dashboard


def document_reader(view):
    """Portfolio managers, provincial staff and auditors: other users get 403, visitors the login page."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not documents.user_can_read_documents(request.user):
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
            "valuation": SimpleLazyObject(lambda: figures.fund_valuation(fund=fund)),
            "cache_seconds": settings.FUND_DASHBOARD_CACHE_SECONDS,
            "can_run": selectors.user_can_run_checks(request.user),
            "monitoring": SimpleLazyObject(
                lambda: monitoring_selectors.fund_monitoring(fund=fund, today=timezone.localdate())
            ),
            "can_read_documents": documents.user_can_read_documents(request.user),
            "document_rows": DASHBOARD_DOCUMENTS,
            "fund_documents": SimpleLazyObject(
                lambda: documents.fund_documents(fund_id=fund.pk, limit=DASHBOARD_DOCUMENTS)
            ),
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


@document_reader
def investment_documents(request, investment_id: int):
    """An investment's documents, and for portfolio managers the form to upload one (POST)."""
    investment = get_object_or_404(Investment.objects.select_related("fund", "startup"), pk=investment_id)
    can_upload = documents.user_can_upload_documents(request.user)
    form = InvestmentDocumentForm(request.POST or None, request.FILES or None) if can_upload else None
    if request.method == "POST":
        if not can_upload:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                documents.investment_document_upload(
                    investment=investment, by=request.user, kind=data["kind"], title=data["title"], upload=data["file"]
                )
            except InvalidRecord as error:
                for field_name, field_errors in error.errors.items():
                    for message in field_errors:
                        form.add_error(field_name if field_name in form.fields else None, message)
            else:
                messages.success(request, _("Document uploaded."))
                return redirect("tolerance:investment_documents", investment_id=investment.pk)
    return render(
        request,
        "tolerance/investment_documents.html",
        {
            "investment": investment,
            "documents": documents.investment_documents(investment=investment),
            "form": form,
            "can_upload": can_upload,
        },
    )


@require_GET
@document_reader
def investment_document_download(request, document_id: int):
    """The file, to portfolio managers, provincial staff and auditors only; each download is recorded."""
    document = get_object_or_404(InvestmentDocument, pk=document_id)
    response = download_response(
        document.file, content_type=document.content_type, filename=document.original_name or "document"
    )
    audit.record(
        action="tolerance.document.downloaded",
        actor=request.user,
        object_type=document._meta.label_lower,
        object_id=document.pk,
        after={"investment": document.investment_id, "title": document.title},
    )
    return response


@require_POST
@document_reader
def investment_document_delete(request, document_id: int):
    document = get_object_or_404(InvestmentDocument, pk=document_id)
    if not documents.user_can_upload_documents(request.user):
        raise PermissionDenied
    documents.investment_document_delete(document=document, by=request.user)
    messages.success(request, _("Document deleted."))
    return redirect("tolerance:investment_documents", investment_id=document.investment_id)
