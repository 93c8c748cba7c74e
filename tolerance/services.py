"""Writes for the portfolio: the compliance check, the one function every door calls.

The Celery task, the admin action, the dashboard button and `manage.py check_tolerance` all call
`compliance_check_run`, so a check behaves the same whoever starts it. It records its own audit
entries: the report (tolerance.report.created / .changed) and the exemption cases it opens in bulk
(tolerance.exemption_case.opened / .reexamination_opened, each listing the rows' ids). The check proposes;
people decide the cases (tolerance/cases.py). Funds, investments and parties are written by
tolerance/portfolio.py.
"""

import datetime
import logging
import os
import time
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tolerance import rates, selectors
from tolerance.models import (
    DECIDED_STATES,
    UNDECIDED_STATES,
    CaseEvent,
    CaseKind,
    CaseState,
    ComplianceReport,
    ExemptionCase,
    ExemptionDetermination,
    Fund,
    GoverningBasis,
    Investment,
    Verdict,
)
from valley import audit
from valley.core.errors import Forbidden
from valley.messaging.mail import queue_mail
from valley.templatetags.valley_format import percent

logger = logging.getLogger(__name__)

HUNDREDTH = Decimal("0.01")


def failure_rate(*, part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """part / whole as a percentage rounded half-up to two decimals (5 of 6 is 83.33%), or None over
    nothing (no data). For showing only: `verdict_for` compares the exact fraction, never this."""
    return rates.shown_rate(part=part, whole=whole)


def verdict_for(*, part: Decimal | int, whole: Decimal | int, threshold: Decimal, warning_level: Decimal) -> str:
    """The verdict on the failure rate part / whole, compared as an exact fraction (part × 100 against
    level × whole): up to and including the threshold is within tolerance, with a warning from the warning
    level on; above it a breach. Nothing over nothing (no qualifying investment) is "no data"."""
    if not whole:
        return Verdict.NO_DATA
    if rates.exceeds(part=part, whole=whole, level=threshold):
        return Verdict.BREACH
    if rates.reaches(part=part, whole=whole, level=warning_level):
        return Verdict.WARNING
    return Verdict.WITHIN


def _money(value: Decimal) -> Decimal:
    # SQLite sums decimals as floats; PostgreSQL sums them exactly. Either way: two places.
    return Decimal(value).quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def _outcome(report: ComplianceReport) -> tuple:
    """What an alert is about: a new verdict, a new failure, or a new failure outside the standards."""
    return (report.verdict, report.failed_count, report.unqualified_failed_count)


@transaction.atomic
def compliance_check_run(*, fund: Fund, as_of: datetime.date, by=None) -> ComplianceReport:
    """Check one fund against its failure-tolerance policy as of a date; returns the one report for that date.

    Idempotent: the fund row is locked and the (fund, as_of) report is created or updated in place,
    so running twice leaves one report and the same cases. Within tolerance (the governing basis's exact
    fraction at most the threshold), every failed qualifying investment has an exemption case (opened by this
    report, or by an earlier one); in breach, none is opened, and decided exemptions are re-examined. With no
    qualifying investment the verdict is "no data" and the rates are empty. Portfolio
    managers are mailed (after commit) when the verdict is a warning or a breach, or failed projects
    did not meet the standards - only when that differs from the fund's previous report (or from this
    report's previous run), so neither a rerun nor a quiet night mails twice. A fixed number of
    queries, whatever the number of investments.
    """
    fund = Fund.objects.select_for_update().get(pk=fund.pk)
    figures = selectors.fund_compliance_figures(fund_id=fund.pk, as_of=as_of)
    return _record_check(fund=fund, as_of=as_of, by=by, figures=figures)


def _record_check(*, fund: Fund, as_of: datetime.date, by, figures: selectors.ComplianceFigures) -> ComplianceReport:
    """The rest of a check once the fund row is locked and its figures computed under that lock."""
    principal = _money(figures.qualifying_principal)
    loss = _money(figures.qualifying_loss)
    rate_by_count = failure_rate(part=figures.failed_count, whole=figures.qualifying_count)
    rate_by_amount = failure_rate(part=loss, whole=principal)
    # The exact fraction of the governing basis decides; the rounded rates above are only shown.
    if fund.governing_basis == GoverningBasis.AMOUNT:
        part, whole = loss, principal  # no qualifying investment, no principal: no data on either basis
    else:
        part, whole = figures.failed_count, figures.qualifying_count
    verdict = verdict_for(part=part, whole=whole, threshold=fund.tolerance_threshold, warning_level=fund.warning_level)

    # The report this one follows: its own earlier run, or else the fund's last report before it.
    previous = ComplianceReport.objects.filter(fund=fund, as_of__lte=as_of).order_by("-as_of").first()
    previous_outcome = _outcome(previous) if previous else None
    now = timezone.now()
    values = {
        "investment_count": figures.investment_count,
        "qualifying_count": figures.qualifying_count,
        "failed_count": figures.failed_count,
        "unqualified_failed_count": figures.unqualified_failed_count,
        "qualifying_principal": principal,
        "qualifying_loss": loss,
        "rate_by_count": rate_by_count,
        "rate_by_amount": rate_by_amount,
        "governing_basis": fund.governing_basis,
        "tolerance_threshold": fund.tolerance_threshold,
        "warning_level": fund.warning_level,
        "verdict": verdict,
        "computed_at": now,
        "computed_by": by,
    }
    # The fund row is locked, so `previous`, when it has this date, is this report as no other check can
    # change it: a rerun updates it in place and its entry records what the earlier run had said.
    rerun = previous is not None and previous.as_of == as_of
    if rerun:
        report, before = previous, audit.snapshot(previous)
        for name, value in values.items():
            setattr(report, name, value)
        report.save(update_fields=list(values))
    else:
        report = ComplianceReport.objects.create(fund=fund, as_of=as_of, **values)
    report.fund = fund  # the locked row, so nothing below queries it again
    if rerun:
        audit.record_changed(report, action="tolerance.report.changed", before=before, actor=by)
    else:
        audit.record_created(report, action="tolerance.report.created", actor=by)
    _fault_injection_pause(fund_id=fund.pk)
    report.cases_opened = _settle_exemptions(report=report, at=now, by=by, rerun=rerun)

    alarming = verdict in (Verdict.WARNING, Verdict.BREACH) or report.unqualified_failed_count
    if alarming and _outcome(report) != previous_outcome:
        _alert_portfolio_managers(report=report)
    logger.info(
        "tolerance check: fund %s as of %s: %s (count %s%%, amount %s%%), %s exemption cases opened",
        fund.pk,
        as_of,
        verdict,
        rate_by_count,
        rate_by_amount,
        report.cases_opened,
    )
    return report


def _fault_injection_pause(*, fund_id: int) -> None:
    """Tests of a worker killed mid-check only (tests/faults): with DEBUG on and the file named by
    VALLEY_TEST_PAUSE_CHECK_FILE present, remove it and pause here, inside the check's transaction, for
    VALLEY_TEST_PAUSE_CHECK_SECONDS. Does nothing in production (DEBUG off) or without the file."""
    path = os.environ.get("VALLEY_TEST_PAUSE_CHECK_FILE")
    if not (settings.DEBUG and path):
        return
    try:
        os.remove(path)
    except FileNotFoundError:
        return
    seconds = float(os.environ.get("VALLEY_TEST_PAUSE_CHECK_SECONDS", "30"))
    logger.warning("fault injection: the check of fund %s pauses %ss inside its transaction", fund_id, seconds)
    time.sleep(seconds)


def _settle_exemptions(*, report: ComplianceReport, at: datetime.datetime, by, rerun: bool) -> int:
    """Propose, never decide: open the exemption cases `report` calls for; returns how many it opened.

    Within tolerance (within or warning), every failed qualifying project of the fund that has no case
    yet gets its original case, relying on this report and its governing rate. In breach, no case is
    opened, cases being worked on are left to the people working on them, and a project whose latest
    decided case exempts someone and relied on a report within tolerance gets a re-examination (the
    decided rows are not touched). Determinations are made by people only (tolerance/cases.py), so a
    rerun has nothing to withdraw: it opens nothing twice. At most one statement and one audit entry.
    """
    if report.verdict == Verdict.BREACH:
        return _open_reexaminations(report=report, at=at, by=by)
    if report.verdict not in (Verdict.WITHIN, Verdict.WARNING):
        return 0
    return _open_original_cases(report=report, at=at, by=by)


def _case_sql_and_audit(*, report: ComplianceReport, select_sql: str, params: list, by, action: str, at) -> int:
    """Run the INSERT ... SELECT of cases `select_sql` chooses, with each case's opening event, in ONE
    statement; ONE audit entry (on the report) lists the (case, investment) ids. Nothing is loaded but the ids."""
    cases = connection.ops.quote_name(ExemptionCase._meta.db_table)
    events = connection.ops.quote_name(CaseEvent._meta.db_table)
    with translation.override(settings.LANGUAGE_CODE):
        comment = _("Opened by the compliance check as of %(as_of)s: failure rate %(basis)s %(rate)s%%.") % {
            "as_of": report.as_of.isoformat(),
            "basis": report.get_governing_basis_display(),
            "rate": report.governing_rate,
        }
    insert = (
        f"INSERT INTO {cases} (investment_id, kind, reexamines_id, report_id, governing_basis, "  # noqa: S608 - names are ours
        f"governing_rate, opened_by_check, opened_by_id, reason, state, opened_at, state_changed_at) {select_sql} "
        f"RETURNING id, investment_id"
    )
    event_columns = f"INSERT INTO {events} (case_id, action, from_state, to_state, by_id, at, comment)"  # noqa: S608
    stamp = connection.ops.adapt_datetimefield_value(at)
    event_values = [action, CaseState.OPENED, getattr(by, "pk", None), stamp, comment]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement: the opening events are written from the INSERT's RETURNING (a data-modifying CTE).
            cursor.execute(
                f"WITH opened AS ({insert}), history AS ({event_columns} "  # noqa: S608 - names are ours
                f"SELECT id, %s, '', %s, %s, %s, %s FROM opened) SELECT id, investment_id FROM opened",
                [*params, *event_values],
            )
            opened = sorted(cursor.fetchall())
        else:
            # SQLite (the development default) has no data-modifying CTE: the same rows in two statements.
            cursor.execute(insert, params)
            opened = sorted(cursor.fetchall())
            cursor.executemany(
                f"{event_columns} VALUES (%s, %s, '', %s, %s, %s, %s)",
                [[case_id, *event_values] for case_id, _investment in opened],
            )
    if opened:
        audit.record(
            action=action,
            actor=by,
            object_type=report._meta.label_lower,
            object_id=report.pk,
            after={
                "governing_basis": report.governing_basis,
                "governing_rate": report.governing_rate,
                "opened_at": at,
                "columns": ["id", "investment_id"],
                "cases": [list(row) for row in opened],
            },
        )
        _mail_cases_opened(report=report, count=len(opened), action=action)
    return len(opened)


def _open_original_cases(*, report: ComplianceReport, at: datetime.datetime, by) -> int:
    failed = selectors.failed_qualifying_investments(fund_id=report.fund_id, as_of=report.as_of)
    rows = failed.annotate(case_investment=F("pk")).values_list("case_investment")
    rows_sql, rows_params = rows.order_by().query.sql_with_params()
    cases = connection.ops.quote_name(ExemptionCase._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(at)
    # A project's original case is its first: NOT EXISTS reads the partial unique index of originals.
    select_sql = (
        f"SELECT failed.case_investment, %s, NULL, %s, %s, %s, TRUE, NULL, '', %s, %s, %s FROM ({rows_sql}) failed "  # noqa: S608
        f"WHERE NOT EXISTS (SELECT 1 FROM {cases} earlier WHERE earlier.investment_id = failed.case_investment "
        f"AND earlier.kind = %s)"
    )
    params = [
        CaseKind.ORIGINAL,
        report.pk,
        report.governing_basis,
        report.governing_rate,
        CaseState.OPENED,
        stamp,
        stamp,
        *rows_params,
        CaseKind.ORIGINAL,
    ]
    return _case_sql_and_audit(
        report=report, select_sql=select_sql, params=params, by=by, action="tolerance.exemption_case.opened", at=at
    )


def _open_reexaminations(*, report: ComplianceReport, at: datetime.datetime, by) -> int:
    cases = connection.ops.quote_name(ExemptionCase._meta.db_table)
    investments = connection.ops.quote_name(Investment._meta.db_table)
    reports = connection.ops.quote_name(ComplianceReport._meta.db_table)
    determinations = connection.ops.quote_name(ExemptionDetermination._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(at)
    with translation.override(settings.LANGUAGE_CODE):
        reason = _(
            "The compliance check as of %(as_of)s finds the fund above its tolerance (failure rate %(basis)s "
            "%(rate)s%%): the exemption decided earlier is re-examined."
        ) % {
            "as_of": report.as_of.isoformat(),
            "basis": report.get_governing_basis_display(),
            "rate": report.governing_rate,
        }
    decided = list(DECIDED_STATES)
    undecided = list(UNDECIDED_STATES)
    # The latest decided case of each project of the fund that exempts someone and relied on a report that
    # was not a breach; not while another case of the project is being worked on. Its rows stay as they are.
    select_sql = (
        f"SELECT latest.investment_id, %s, latest.id, %s, %s, %s, TRUE, NULL, %s, %s, %s, %s "  # noqa: S608
        f"FROM {cases} latest JOIN {investments} inv ON inv.id = latest.investment_id "
        f"JOIN {reports} relied ON relied.id = latest.report_id "
        f"WHERE inv.fund_id = %s AND latest.state IN (%s, %s) AND relied.verdict <> %s "
        f"AND NOT EXISTS (SELECT 1 FROM {cases} later WHERE later.reexamines_id = latest.id) "
        f"AND NOT EXISTS (SELECT 1 FROM {cases} busy WHERE busy.investment_id = latest.investment_id "
        f"AND busy.state IN (%s, %s, %s)) "
        f"AND EXISTS (SELECT 1 FROM {determinations} d WHERE d.case_id = latest.id AND d.exempt AND NOT d.automatic)"
    )
    params = [
        CaseKind.REEXAMINATION,
        report.pk,
        report.governing_basis,
        report.governing_rate,
        reason,
        CaseState.OPENED,
        stamp,
        stamp,
        report.fund_id,
        *decided,
        Verdict.BREACH,
        *undecided,
    ]
    return _case_sql_and_audit(
        report=report,
        select_sql=select_sql,
        params=params,
        by=by,
        action="tolerance.exemption_case.reexamination_opened",
        at=at,
    )


def _mail_cases_opened(*, report: ComplianceReport, count: int, action: str) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        facts = {
            "fund": report.fund.name,
            "as_of": report.as_of.isoformat(),
            "count": count,
            "url": f"{settings.SITE_URL}/tolerance/cases/?fund={report.fund_id}",
        }
        if action.endswith("reexamination_opened"):
            subject = _("Exemption re-examinations opened for %(fund)s as of %(as_of)s") % facts
            first = _("The fund is above its tolerance: %(count)s decided exemption(s) are re-examined.") % facts
        else:
            subject = _("Exemption cases opened for %(fund)s as of %(as_of)s") % facts
            first = (
                _(
                    "%(count)s failed qualifying project(s) may be exempt: their cases are opened; nobody is exempt "
                    "until the decision-making body determines each case."
                )
                % facts
            )
        body = "\n".join([first, _("Cases: %(url)s") % facts])
    queue_mail(to=selectors.portfolio_manager_emails(), subject=subject, body=body)


def _require_superuser(by) -> None:
    if by is not None and not getattr(by, "is_superuser", False):
        raise Forbidden(_("Only a superuser may remove compliance records."))


@transaction.atomic
def report_delete(*, report: ComplianceReport, by) -> None:
    """A superuser removes a report made in error, as long as no exemption case or determination relies on
    it (those are decided by people and are never removed with it). The fund row is locked as a check
    locks it; the audit entry keeps the report's values, so even this escape hatch leaves a trace."""
    _require_superuser(by)
    Fund.objects.select_for_update().filter(pk=report.fund_id).first()
    report = ComplianceReport.objects.get(pk=report.pk)
    if report.cases.exists() or ExemptionDetermination.objects.filter(report=report).exists():
        raise Forbidden(_("Exemption cases rely on this report; it cannot be removed."))
    audit.record(
        action="tolerance.report.deleted",
        actor=by,
        object_type=report._meta.label_lower,
        object_id=report.pk,
        before=audit.snapshot(report),
    )
    report.delete()


def _alert_portfolio_managers(*, report: ComplianceReport) -> None:
    """Mail a warning, a breach, or failed projects outside the standards. A fund with no qualifying
    investment is alerted only for the latter, and its mail says it has no rate ("no data")."""
    recipients = selectors.portfolio_manager_emails()
    with translation.override(settings.LANGUAGE_CODE):
        facts = {
            "fund": report.fund.name,
            "as_of": report.as_of.isoformat(),
            "verdict": report.get_verdict_display(),
            "count": report.shown_rate_by_count,
            "amount": report.shown_rate_by_amount,
            "basis": report.get_governing_basis_display(),
            "threshold": percent(report.tolerance_threshold),
            "warning": percent(report.warning_level),
            "unqualified": report.unqualified_failed_count,
            "url": f"{settings.SITE_URL}/tolerance/funds/{report.fund_id}/",
        }
        if report.verdict == Verdict.NO_DATA:
            subject = _("Failure tolerance: %(fund)s has no qualifying investment as of %(as_of)s") % facts
            lines = [
                _(
                    "Compliance check of %(fund)s as of %(as_of)s: no data. No investment meets all five "
                    "standards, so the fund has no failure rate."
                )
                % facts
            ]
        else:
            subject = _("Failure tolerance: %(fund)s is %(verdict)s as of %(as_of)s") % facts
            lines = [
                _("Compliance check of %(fund)s as of %(as_of)s: %(verdict)s.") % facts,
                _("Failure rate by count: %(count)s; by amount: %(amount)s (governing: %(basis)s).") % facts,
                _("Threshold %(threshold)s, warning level %(warning)s.") % facts,
            ]
        if report.verdict == Verdict.BREACH:
            lines.append(_("The fund is above its tolerance: no exemption case is opened."))
        if report.unqualified_failed_count:
            lines.append(
                _("%(unqualified)s failed project(s) did not meet the standards and are not covered by the tolerance.")
                % facts
            )
        lines.append(_("Dashboard: %(url)s") % facts)
    queue_mail(to=recipients, subject=subject, body="\n".join(lines))


def compliance_check_run_many(*, funds, as_of: datetime.date, by=None) -> list[ComplianceReport]:
    """`compliance_check_run` for several funds (in id order), with their figures from ONE grouped query.

    The figures of every fund are aggregated first, together (`selectors.compliance_figures_by_fund`,
    which PostgreSQL answers with one scan instead of one per fund). Then each fund is checked in its
    own transaction, as `compliance_check_run` checks it: its row is locked and, if an investment in
    scope was saved since the figures were counted (`selectors.last_investment_change`, one index
    lookup), its figures are counted again under the lock before the report is written. A fund whose
    check fails stops the run: the reports made before it are kept, later funds are not checked.
    """
    fund_ids = sorted({fund.pk for fund in funds})
    figures = selectors.compliance_figures_by_fund(fund_ids=fund_ids, as_of=as_of)
    return [_check_with_figures(fund_id=pk, as_of=as_of, by=by, figures=figures[pk]) for pk in fund_ids]


@transaction.atomic
def _check_with_figures(*, fund_id: int, as_of: datetime.date, by, figures) -> ComplianceReport:
    fund = Fund.objects.select_for_update().get(pk=fund_id)
    if selectors.last_investment_change(fund_id=fund.pk) != figures.last_change:
        figures = selectors.fund_compliance_figures(fund_id=fund.pk, as_of=as_of)
    return _record_check(fund=fund, as_of=as_of, by=by, figures=figures)


def compliance_check_run_all(*, as_of: datetime.date, by=None) -> list[ComplianceReport]:
    """Check every fund, each in its own transaction (see `compliance_check_run_many`)."""
    return compliance_check_run_many(funds=Fund.objects.only("pk"), as_of=as_of, by=by)
