"""The portfolio pages: the fund list, a fund's dashboard, "run the check now" for staff, exemption cases, and
the investments' documents (listed for their readers, uploaded and removed by portfolio managers, downloaded
through a check)."""

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
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tolerance import documents, figures, monitoring_selectors, selectors
from tolerance.filters import ExemptionCaseFilter, FundFilter, InvestmentFilter
from tolerance.forms import InvestmentDocumentForm
from tolerance.models import STANDARDS, CaseState, ExemptionCase, Fund, Investment, InvestmentDocument, Verdict
from tolerance.portfolio import InvalidRecord
from tolerance.services import compliance_check_run
from valley.core import roles
from valley.core.documents import download_response
from valley.core.errors import DomainError
from valley.messaging import outbox
from valley.web.listing import Listing


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


PAGE_SIZE = 50
# The columns the fund list and the case list may be sorted by (any other `sort` is ignored).
FUND_SORTS = {
    "name": ("name_zh",),
    "size": ("size",),
    "investments": ("investment_total",),
    "threshold": ("tolerance_threshold",),
    "latest": ("latest_as_of",),
    "verdict": ("latest_verdict",),
}
INVESTMENT_PAGE_SIZE = 20  # below the dashboard's sections, a shorter page
INVESTMENT_SORTS = {
    "startup": ("startup__name_zh",),
    "invested": ("invested_on",),
    "principal": ("principal",),
    "state": ("state",),
    "failed": ("failed_on",),
}
CASE_SORTS = {
    "number": ("pk",),
    "fund": ("investment__fund__name_zh",),
    "startup": ("investment__startup__name_zh",),
    "kind": ("kind",),
    "step": ("state",),
    "opened": ("opened_at",),
}


@require_GET
@portfolio_reader
def fund_list(request):
    listing = Listing(
        request,
        selectors.fund_list(),
        filterset_class=FundFilter,
        shown=("q", "governing_basis"),
        sorts=FUND_SORTS,
        default_order=("name_zh", "pk"),
        page_size=PAGE_SIZE,
    )
    return render(
        request,
        "tolerance/fund_list.html",
        {
            "listing": listing,
            "page": listing.page,
            "funds": listing.page.object_list,
            "can_run": selectors.user_can_run_checks(request.user),
        },
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
    # Every investment of the fund, to search, filter, sort and page through (not cached: it follows the query).
    investments = Listing(
        request,
        Investment.objects.filter(fund=fund).select_related("startup"),
        filterset_class=InvestmentFilter,
        shown=("q", "state", "meets_standards", "invested_on", "failed_on"),
        sorts=INVESTMENT_SORTS,
        default_order=("invested_on", "pk"),
        export="investments",
        fixed={"fund": fund.pk},
        page_size=INVESTMENT_PAGE_SIZE,
    )
    return render(
        request,
        "tolerance/fund_dashboard.html",
        {
            "fund": fund,
            "listing": investments,
            "page": investments.page,
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


# ---------------------------------------------------------------------------- exemption cases


def _step_forms(case, user) -> dict:
    """The step forms `user` may use on the case now, by step name (only those the role and state allow)."""
    from tolerance import case_forms, cases
    from tolerance.workflow import CASE_WORKFLOW

    offered = {}
    is_gatherer = roles.has_role(user, roles.PORTFOLIO_MANAGER)
    if case.state == CaseState.OPENED and is_gatherer:
        offered["evidence"] = case_forms.EvidenceForm
    if case.state in (CaseState.OPENED, CaseState.EVIDENCE) and is_gatherer:
        offered["statement"] = case_forms.StatementForm
    names = {"gather_evidence": "gather", "give_opinion": "opinion", "determine": "determine", "notify": "notify"}
    form_classes = {
        "gather": case_forms.GatherForm,
        "opinion": case_forms.OpinionForm,
        "determine": case_forms.DeterminationForm,
        "notify": case_forms.NotifyForm,
    }
    for transition in CASE_WORKFLOW.available(case, user):
        offered[names[transition.name]] = form_classes[names[transition.name]]
    if case.is_decided and not case.reexaminations.exists() and roles.has_role(user, *cases.REEXAMINERS):
        offered["reexamine"] = case_forms.ReexamineForm
    return offered


def _take_step(step: str, form, case, user):
    from tolerance import cases

    data = form.cleaned_data
    if step == "evidence":
        return cases.case_add_evidence(
            case=case, by=user, standard=data["standard"], note=data["note"], documents=data["documents"]
        )
    if step == "statement":
        return cases.case_add_statement(
            case=case, by=user, party=data["party"], text=data["text"], made_on=data["made_on"]
        )
    if step == "gather":
        return cases.case_gather_evidence(case=case, by=user, comment=data["comment"])
    if step == "opinion":
        return cases.case_give_opinion(case=case, by=user, text=data["text"], given_on=data["given_on"])
    if step == "determine":
        return cases.case_determine(
            case=case,
            by=user,
            decisions=form.decisions(),
            meeting_date=data["meeting_date"],
            document_number=data["document_number"],
        )
    if step == "notify":
        return cases.case_notify(case=case, by=user, notified_on=data["notified_on"], how=data["how"])
    return cases.case_reexamine(case=case, by=user, reason=data["reason"])


@require_GET
@portfolio_reader
def case_list(request):
    listing = Listing(
        request,
        selectors.case_list(),
        filterset_class=ExemptionCaseFilter,
        shown=("q", "fund", "state", "kind", "opened_at"),
        sorts=CASE_SORTS,
        default_order=("state_changed_at", "pk"),
        export="exemption-cases",
        page_size=PAGE_SIZE,
    )
    listing.page.object_list = selectors.with_ages(listing.page.object_list)
    return render(
        request,
        "tolerance/case_list.html",
        {"listing": listing, "page": listing.page, "cases": listing.page.object_list},
    )


@require_http_methods(["GET", "POST"])
@portfolio_reader
def case_detail(request, case_id: int):
    try:
        case = selectors.case_detail(case_id=case_id)
    except ExemptionCase.DoesNotExist:
        raise Http404(_("There is no such exemption case.")) from None
    offered = _step_forms(case, request.user)
    forms_by_step = {step: form_class(case=case, prefix=step) for step, form_class in offered.items()}
    if request.method == "POST":
        step = request.POST.get("step", "")
        if not offered:
            raise PermissionDenied  # this user may take no step on this case now
        if step not in offered:
            messages.error(request, _("That step cannot be taken on this case now; the steps you may take are below."))
            return _case_page(request, case, forms_by_step, status=400)
        form = offered[step](request.POST, case=case, prefix=step)
        forms_by_step[step] = form
        if form.is_valid():
            try:
                _take_step(step, form, case, request.user)
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Recorded."))
                return redirect("tolerance:case_detail", case_id=case.pk)
    return _case_page(request, case, forms_by_step)


def _missing_standards(case) -> list[str]:
    from tolerance.cases import missing_standards

    return missing_standards(case)


def _case_page(request, case, forms_by_step, status: int = 200):
    latest = case.investment.fund.reports.order_by("-as_of").values_list("verdict", flat=True).first()
    return render(
        request,
        "tolerance/case_detail.html",
        {
            "case": case,
            "forms": forms_by_step,
            "latest_breach": latest == Verdict.BREACH,
            "standards": STANDARDS,
            # Closing the evidence is shown, but not offered, until every standard has its evidence.
            "gather_missing": _missing_standards(case) if "gather" in forms_by_step else [],
        },
        status=status,
    )


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
        document.file,
        content_type=document.content_type,
        filename=document.original_name or "document",
        action="tolerance.document.downloaded",
        details={"investment": document.investment_id, "title": document.title},
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
