"""Pages of post-investment monitoring.

The startup's own: its quarterly reports and the form of one (owner of the entity only; anyone else gets 404,
so nobody learns which ids exist). Portfolio readers' (staff and auditors): the queue of reports to be filed,
overdue and submitted, a company's history, a report with its decision form (portfolio managers decide),
and a fund's yearly performance evaluation with its CSV.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from teams.models import Entity
from tolerance import monitoring, monitoring_selectors
from tolerance.filters import CompanyReportFilter
from tolerance.forms import CompanyReportDecisionForm, CompanyReportForm
from tolerance.models import CompanyReport, Fund
from tolerance.views import portfolio_reader
from tolerance.workflow import REPORT_EDITABLE_STATES, REPORT_WORKFLOW
from valley.core import roles
from valley.core.errors import DomainError
from valley.exports.engine import csv_line
from valley.web.listing import Listing

# ---------------------------------------------------------------------------- the startup's own pages


def _own_entity(request, entity_id: int) -> Entity:
    entity = monitoring_selectors.entity_of_owner(user=request.user, entity_id=entity_id)
    if entity is None:
        raise Http404(_("There is no such startup among yours."))
    return entity


@require_GET
@login_required
def my_reports(request, entity_id: int):
    """The startup's quarterly reports; the quarters that have become due are opened first."""
    entity = _own_entity(request, entity_id)
    today = timezone.localdate()
    monitoring.company_reports_open_due(today=today, entity_ids=[entity.pk])
    return render(
        request,
        "tolerance/my_reports.html",
        {"entity": entity, "reports": monitoring_selectors.reports_of_entity(entity=entity, today=today)},
    )


@login_required
def my_report(request, entity_id: int, report_id: int):
    """One quarterly report: the figures form (save, or save and submit) while it is the startup's to file."""
    entity = _own_entity(request, entity_id)
    report = get_object_or_404(CompanyReport.objects.filter(entity=entity), pk=report_id)
    editable = report.state in REPORT_EDITABLE_STATES
    form = CompanyReportForm(request.POST or None, initial=CompanyReportForm.initial_of(report))
    if request.method == "POST":
        if not editable:
            messages.error(request, _("This report has been submitted; it can no longer be changed."))
            return redirect("tolerance:my_report", entity_id=entity.pk, report_id=report.pk)
        if form.is_valid():
            try:
                report = monitoring.company_report_save(
                    report=report, by=request.user, figures=form.cleaned_data["figures"], note=form.cleaned_data["note"]
                )
                if request.POST.get("action") == "submit":
                    monitoring.company_report_submit(report=report, by=request.user)
                    messages.success(request, _("Submitted. Thank you."))
                else:
                    messages.success(request, _("Saved. Submit the report when the figures are final."))
                return redirect("tolerance:my_reports", entity_id=entity.pk)
            except monitoring.InvalidFigures as error:
                for name, message in error.errors.items():
                    form.add_error(name, message)
            except DomainError as error:
                form.add_error(None, error.message)
    monitoring_selectors.mark_lateness([report], today=timezone.localdate())
    return render(
        request,
        "tolerance/my_report.html",
        {"entity": entity, "report": report, "form": form, "editable": editable},
        status=400 if form.errors else 200,
    )


# ---------------------------------------------------------------------------- portfolio readers' pages


REPORT_PAGE_SIZE = 50
# The columns the list of every report may be sorted by (any other `sort` is ignored).
REPORT_SORTS = {
    "startup": ("entity__name_zh",),
    "period": ("year", "quarter"),
    "due": ("due_on",),
    "state": ("state",),
}


@require_GET
@portfolio_reader
def report_queue(request):
    """The three queues (overdue, submitted, to be filed: the oldest few of each), and every report below them
    as a list to search, filter, sort and page through."""
    today = timezone.localdate()
    listing = Listing(
        request,
        CompanyReport.objects.select_related("entity"),
        filterset_class=CompanyReportFilter,
        shown=("q", "state", "year", "quarter", "overdue", "due_on"),
        sorts=REPORT_SORTS,
        default_order=("due_on", "pk"),
        export="company-reports",
        page_size=REPORT_PAGE_SIZE,
    )
    listing.page.object_list = monitoring_selectors.mark_lateness(list(listing.page.object_list), today=today)
    return render(
        request,
        "tolerance/report_queue.html",
        {"queue": monitoring_selectors.report_queue(today=today), "listing": listing, "page": listing.page},
    )


@require_GET
@portfolio_reader
def company_history(request, entity_id: int):
    try:
        entity, investments, reports = monitoring_selectors.company_history(
            entity_id=entity_id, today=timezone.localdate()
        )
    except Entity.DoesNotExist:
        raise Http404(_("There is no such portfolio startup.")) from None
    return render(
        request,
        "tolerance/company_history.html",
        {"entity": entity, "investments": investments, "reports": reports},
    )


@require_GET
@portfolio_reader
def report_detail(request, report_id: int):
    report = get_object_or_404(
        CompanyReport.objects.select_related("entity", "submitted_by", "decided_by"), pk=report_id
    )
    monitoring_selectors.mark_lateness([report], today=timezone.localdate())
    may_decide = bool(REPORT_WORKFLOW.available(report, request.user)) and roles.has_role(
        request.user, roles.PORTFOLIO_MANAGER
    )
    return render(
        request,
        "tolerance/report_detail.html",
        {
            "report": report,
            "events": list(report.events.select_related("by").order_by("at", "pk")),
            "form": CompanyReportDecisionForm() if may_decide else None,
        },
    )


@require_POST
@login_required
def report_decide(request, report_id: int):
    """A portfolio manager accepts a submitted report or returns it with a comment."""
    if not roles.has_role(request.user, roles.PORTFOLIO_MANAGER):
        raise PermissionDenied
    report = get_object_or_404(CompanyReport, pk=report_id)
    form = CompanyReportDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose to accept or to return the report."))
        return redirect("tolerance:report_detail", report_id=report.pk)
    decide = {"accept": monitoring.company_report_accept, "return": monitoring.company_report_return}
    try:
        decide[form.cleaned_data["decision"]](report=report, by=request.user, comment=form.cleaned_data["comment"])
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Recorded."))
    return redirect("tolerance:report_detail", report_id=report.pk)


def _fund_and_year(fund_id: int, year: int) -> Fund:
    if not 2000 <= year <= timezone.localdate().year + 1:
        raise Http404(_("There is no evaluation for that year."))
    fund = Fund.objects.filter(pk=fund_id).first()
    if fund is None:
        raise Http404(_("There is no such fund."))
    return fund


@require_GET
@portfolio_reader
def fund_evaluation(request, fund_id: int, year: int):
    fund = _fund_and_year(fund_id, year)
    return render(
        request,
        "tolerance/fund_evaluation.html",
        {
            "evaluation": monitoring_selectors.fund_evaluation(fund=fund, year=year),
            "years": monitoring_selectors.evaluation_years(fund=fund, today=timezone.localdate()),
        },
    )


def _cell(value) -> str:
    if value is None:
        return ""
    return f"{value:.2f}" if not isinstance(value, int) else str(value)


@require_GET
@portfolio_reader
def fund_evaluation_csv(request, fund_id: int, year: int):
    """The evaluation as CSV, in the export engine's format (valley.exports.engine: BOM, two decimals)."""
    fund = _fund_and_year(fund_id, year)
    evaluation = monitoring_selectors.fund_evaluation(fund=fund, year=year)
    rows = [
        ["figure", _("figure"), _("value")],
        ["investments", _("investments by the year's end"), _cell(evaluation.investment_count)],
        ["principal", _("principal (yuan)"), _cell(evaluation.principal)],
        ["co_investment", _("co-investment (yuan)"), _cell(evaluation.co_investment)],
        ["leverage", _("leverage"), _cell(evaluation.leverage)],
        *(
            [
                f"focus_share_{share.code}",
                _("share of principal (%%): %(area)s") % {"area": share.name},
                _cell(share.share),
            ]
            for share in evaluation.shares
        ),
        ["startups", _("portfolio startups of the year"), _cell(evaluation.startup_count)],
        ["follow_on_rate", _("follow-on rate (%)"), _cell(evaluation.follow_on_rate)],
        ["survival_rate", _("survival rate (%)"), _cell(evaluation.survival_rate)],
        ["jobs_created", _("jobs created"), _cell(evaluation.jobs_created)],
    ]
    body = "\ufeff" + "".join(csv_line([str(cell) for cell in row]) for row in rows)
    response = HttpResponse(body.encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="evaluation-{fund.pk}-{year}.csv"'
    response["Cache-Control"] = "no-store"
    return response
