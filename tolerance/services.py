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
    queries, whatever the number of investments. The same steps as `compliance_check_run_many`'s, for one fund.
    """
    fund = Fund.objects.select_for_update().get(pk=fund.pk)
    changes = selectors.last_investment_changes(fund_ids=[fund.pk])
    figures = {fund.pk: selectors.fund_compliance_figures(fund_id=fund.pk, as_of=as_of, last_change=changes[fund.pk])}
    [report] = _record_checks(funds=[fund], as_of=as_of, by=by, figures=figures)
    return report


def _lock_funds(fund_ids: list[int]) -> list[Fund]:
    """The funds' rows locked FOR UPDATE, in one query, in id order (two runs lock in the same order: no deadlock)."""
    return list(Fund.objects.select_for_update().filter(pk__in=fund_ids).order_by("pk"))


def _report_values(*, fund: Fund, figures: selectors.ComplianceFigures, now, by) -> dict:
    """A report's values from the fund's policy and its figures: the rates shown, and the verdict on the exact
    fraction of the governing basis."""
    principal = _money(figures.qualifying_principal)
    loss = _money(figures.qualifying_loss)
    if fund.governing_basis == GoverningBasis.AMOUNT:
        part, whole = loss, principal  # no qualifying investment, no principal: no data on either basis
    else:
        part, whole = figures.failed_count, figures.qualifying_count
    return {
        "investment_count": figures.investment_count,
        "qualifying_count": figures.qualifying_count,
        "failed_count": figures.failed_count,
        "unqualified_failed_count": figures.unqualified_failed_count,
        "qualifying_principal": principal,
        "qualifying_loss": loss,
        "rate_by_count": failure_rate(part=figures.failed_count, whole=figures.qualifying_count),
        "rate_by_amount": failure_rate(part=loss, whole=principal),
        "governing_basis": fund.governing_basis,
        "tolerance_threshold": fund.tolerance_threshold,
        "warning_level": fund.warning_level,
        "verdict": verdict_for(
            part=part, whole=whole, threshold=fund.tolerance_threshold, warning_level=fund.warning_level
        ),
        "computed_at": now,
        "computed_by": by,
        "figures_changed_at": figures.last_change,
    }


def _record_checks(*, funds: list[Fund], as_of: datetime.date, by, figures: dict) -> list[ComplianceReport]:
    """The rest of the check of `funds` once their rows are locked and `figures` ({fund id: figures}) hold
    under that lock: the same number of queries for one fund or a hundred (the reports in one INSERT and one
    UPDATE, their audit entries in one INSERT, the cases in at most two INSERT ... SELECT), plus a mail per
    fund whose outcome changed or that had cases opened."""
    # The report each one follows: its own earlier run, or else the fund's last report before it.
    previous = selectors.latest_reports_up_to(fund_ids=[fund.pk for fund in funds], as_of=as_of)
    now = timezone.now()
    reports, created, changed = [], [], []
    for fund in funds:
        values = _report_values(fund=fund, figures=figures[fund.pk], now=now, by=by)
        before = previous.get(fund.pk)
        cases_all_there = _cases_all_there(before=before, figures=figures[fund.pk])
        # The fund row is locked, so `before`, when it has this date, is this report as no other check can
        # change it: a rerun updates it in place and its entry records what the earlier run had said.
        if before is not None and before.as_of == as_of:
            report, snapshot = before, audit.snapshot(before)
            for name, value in values.items():
                setattr(report, name, value)
            changed.append((report, snapshot))
        else:
            report = ComplianceReport(fund=fund, as_of=as_of, **values)
            created.append(report)
        report.fund = fund  # the locked row, so nothing below queries it again
        report.previous_outcome = _outcome(before) if before else None
        report.cases_all_there = cases_all_there
        reports.append(report)
    ComplianceReport.objects.bulk_create(created)
    if changed:
        ComplianceReport.objects.bulk_update([report for report, _snapshot in changed], fields=list(values))
    entries = [audit.created_entry(report, action="tolerance.report.created", actor=by) for report in created]
    entries += [
        audit.changed_entry(report, action="tolerance.report.changed", before=snapshot, actor=by)
        for report, snapshot in changed
    ]
    _fault_injection_pause(fund_ids=[fund.pk for fund in funds])
    entries += _settle_exemptions(reports=reports, at=now, by=by)
    # The reports' entries first, then those of the cases they opened: one INSERT, sealed in that order.
    audit.record_many(entries)

    recipients = _Recipients()
    for report in reports:
        if report.cases_opened:
            _mail_cases_opened(report=report, count=report.cases_opened, recipients=recipients())
        alarming = report.verdict in (Verdict.WARNING, Verdict.BREACH) or report.unqualified_failed_count
        if alarming and _outcome(report) != report.previous_outcome:
            _alert_portfolio_managers(report=report, recipients=recipients())
        logger.info(
            "tolerance check: fund %s as of %s: %s (count %s%%, amount %s%%), %s exemption cases opened",
            report.fund_id,
            as_of,
            report.verdict,
            report.rate_by_count,
            report.rate_by_amount,
            report.cases_opened,
        )
    return reports


def _cases_all_there(*, before: ComplianceReport | None, figures: selectors.ComplianceFigures) -> bool:
    """Whether every failed qualifying project the figures count already has its original case, known without
    the anti-join over all of them (at a million investments it costs more than the figures themselves).

    So when the report this check follows was within tolerance (its check opened the case of every failed
    qualifying project it saw, in its transaction), no investment of the fund was saved since its figures
    (the same last save, read under the fund's lock now), and the failures counted are as many: with the
    investments unchanged, the failures as of a later date include those as of an earlier one, so as many
    means the same. A report from before this stamp was kept (None) never answers yes."""
    return (
        before is not None
        and before.verdict in (Verdict.WITHIN, Verdict.WARNING)
        and before.figures_changed_at is not None
        and before.figures_changed_at == figures.last_change
        and before.failed_count == figures.failed_count
    )


class _Recipients:
    """The portfolio managers' addresses, looked up once per check however many funds it mails about."""

    def __init__(self):
        self._emails = None

    def __call__(self) -> list[str]:
        if self._emails is None:
            self._emails = selectors.portfolio_manager_emails()
        return self._emails


def _fault_injection_pause(*, fund_ids: list[int]) -> None:
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
    logger.warning("fault injection: the check of funds %s pauses %ss inside its transaction", fund_ids, seconds)
    time.sleep(seconds)


def _settle_exemptions(*, reports: list[ComplianceReport], at: datetime.datetime, by) -> list[dict]:
    """Propose, never decide: open the exemption cases the reports call for; sets each report's `cases_opened`
    and returns the audit entries to write (one per report that opened cases, listing them).

    Within tolerance (within or warning), every failed qualifying project of the fund that has no case
    yet gets its original case, relying on this report and its governing rate. In breach, no case is
    opened, cases being worked on are left to the people working on them, and a project whose latest
    decided case exempts someone and relied on a report within tolerance gets a re-examination (the
    decided rows are not touched). Determinations are made by people only (tolerance/cases.py), so a
    rerun has nothing to withdraw: it opens nothing twice. At most one statement for the originals of every
    fund within tolerance, one for the re-examinations of every fund in breach.
    """
    for report in reports:
        report.cases_opened = 0
    within = [
        report
        for report in reports
        if report.verdict in (Verdict.WITHIN, Verdict.WARNING) and not report.cases_all_there
    ]
    breach = [report for report in reports if report.verdict == Verdict.BREACH]
    entries = []
    if within:
        entries += _open_original_cases(reports=within, at=at, by=by)
    if breach:
        entries += _open_reexaminations(reports=breach, at=at, by=by)
    return entries


def _by_report(reports: list[ComplianceReport], texts: dict[int, str], column: str) -> tuple[str, list]:
    """SQL choosing each report's own text by `column` (a report id): CASE column WHEN id THEN text ... END."""
    whens = " ".join("WHEN %s THEN %s" for _report in reports)
    params = [value for report in reports for value in (report.pk, texts[report.pk])]
    return f"CASE {column} {whens} END", params


def _case_sql_and_audit(
    *, reports: list[ComplianceReport], select_sql: str, params: list, by, action: str, at
) -> list[dict]:
    """Run the INSERT ... SELECT of cases `select_sql` chooses (its 4th column the report relied on), with each
    case's opening event, in ONE statement; returns the audit entries to write: one per report that opened
    cases, listing its (case, investment) ids (and sets its `cases_opened`). Nothing is loaded but the ids."""
    cases = connection.ops.quote_name(ExemptionCase._meta.db_table)
    events = connection.ops.quote_name(CaseEvent._meta.db_table)
    with translation.override(settings.LANGUAGE_CODE):
        comments = {
            report.pk: _("Opened by the compliance check as of %(as_of)s: failure rate %(basis)s %(rate)s%%.")
            % {
                "as_of": report.as_of.isoformat(),
                "basis": report.get_governing_basis_display(),
                "rate": report.governing_rate,
            }
            for report in reports
        }
    insert = (
        f"INSERT INTO {cases} (investment_id, kind, reexamines_id, report_id, governing_basis, "  # noqa: S608 - names are ours
        f"governing_rate, opened_by_check, opened_by_id, reason, state, opened_at, state_changed_at) {select_sql} "
        f"RETURNING id, investment_id, report_id"
    )
    event_columns = f"INSERT INTO {events} (case_id, action, from_state, to_state, by_id, at, comment)"  # noqa: S608
    stamp = connection.ops.adapt_datetimefield_value(at)
    comment_sql, comment_params = _by_report(reports, comments, "opened.report_id")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement: the opening events are written from the INSERT's RETURNING (a data-modifying CTE).
            cursor.execute(
                f"WITH opened AS ({insert}), history AS ({event_columns} "  # noqa: S608 - names are ours
                f"SELECT id, %s, '', %s, %s, %s, {comment_sql} FROM opened) "
                f"SELECT id, investment_id, report_id FROM opened",
                [*params, action, CaseState.OPENED, getattr(by, "pk", None), stamp, *comment_params],
            )
            opened = sorted(cursor.fetchall())
        else:
            # SQLite (the development default) has no data-modifying CTE: the same rows in two statements.
            cursor.execute(insert, params)
            opened = sorted(cursor.fetchall())
            cursor.executemany(
                f"{event_columns} VALUES (%s, %s, '', %s, %s, %s, %s)",
                [
                    [case_id, action, CaseState.OPENED, getattr(by, "pk", None), stamp, comments[report_id]]
                    for case_id, _investment, report_id in opened
                ],
            )
    by_report: dict[int, list] = {}
    for case_id, investment_id, report_id in opened:
        by_report.setdefault(report_id, []).append([case_id, investment_id])
    entries = []
    for report in reports:
        rows = by_report.get(report.pk)
        if not rows:
            continue
        report.cases_opened = len(rows)
        entries.append(
            {
                "action": action,
                "actor": by,
                "object_type": report._meta.label_lower,
                "object_id": report.pk,
                "after": {
                    "governing_basis": report.governing_basis,
                    "governing_rate": report.governing_rate,
                    "opened_at": at,
                    "columns": ["id", "investment_id"],
                    "cases": rows,
                },
            }
        )
    return entries


def _open_original_cases(*, reports: list[ComplianceReport], at: datetime.datetime, by) -> list[dict]:
    as_of = reports[0].as_of
    failed = selectors.failed_qualifying_investments(fund_ids=[report.fund_id for report in reports], as_of=as_of)
    rows = failed.annotate(case_investment=F("pk"), case_fund=F("fund_id")).values_list("case_investment", "case_fund")
    rows_sql, rows_params = rows.order_by().query.sql_with_params()
    cases = connection.ops.quote_name(ExemptionCase._meta.db_table)
    reports_table = connection.ops.quote_name(ComplianceReport._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(at)
    # Each case relies on its fund's report of this check, and on that report's governing rate.
    # A project's original case is its first: NOT EXISTS reads the partial unique index of originals.
    select_sql = (
        f"SELECT failed.case_investment, %s, NULL, r.id, r.governing_basis, "  # noqa: S608 - names are ours
        f"CASE WHEN r.governing_basis = %s THEN r.rate_by_amount ELSE r.rate_by_count END, "
        f"TRUE, NULL, '', %s, %s, %s FROM ({rows_sql}) failed "
        f"JOIN {reports_table} r ON r.fund_id = failed.case_fund AND r.as_of = %s "
        f"WHERE NOT EXISTS (SELECT 1 FROM {cases} earlier WHERE earlier.investment_id = failed.case_investment "
        f"AND earlier.kind = %s)"
    )
    params = [
        CaseKind.ORIGINAL,
        GoverningBasis.AMOUNT,
        CaseState.OPENED,
        stamp,
        stamp,
        *rows_params,
        connection.ops.adapt_datefield_value(as_of),
        CaseKind.ORIGINAL,
    ]
    return _case_sql_and_audit(
        reports=reports, select_sql=select_sql, params=params, by=by, action="tolerance.exemption_case.opened", at=at
    )


def _open_reexaminations(*, reports: list[ComplianceReport], at: datetime.datetime, by) -> list[dict]:
    cases = connection.ops.quote_name(ExemptionCase._meta.db_table)
    investments = connection.ops.quote_name(Investment._meta.db_table)
    reports_table = connection.ops.quote_name(ComplianceReport._meta.db_table)
    determinations = connection.ops.quote_name(ExemptionDetermination._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(at)
    with translation.override(settings.LANGUAGE_CODE):
        reasons = {
            report.pk: _(
                "The compliance check as of %(as_of)s finds the fund above its tolerance (failure rate %(basis)s "
                "%(rate)s%%): the exemption decided earlier is re-examined."
            )
            % {
                "as_of": report.as_of.isoformat(),
                "basis": report.get_governing_basis_display(),
                "rate": report.governing_rate,
            }
            for report in reports
        }
    reason_sql, reason_params = _by_report(reports, reasons, "r.id")
    decided = list(DECIDED_STATES)
    undecided = list(UNDECIDED_STATES)
    # The latest decided case of each project of the funds that exempts someone and relied on a report that
    # was not a breach; not while another case of the project is being worked on. Its rows stay as they are.
    fund_placeholders = ", ".join("%s" for _report in reports)
    select_sql = (
        f"SELECT latest.investment_id, %s, latest.id, r.id, r.governing_basis, "  # noqa: S608 - names are ours
        f"CASE WHEN r.governing_basis = %s THEN r.rate_by_amount ELSE r.rate_by_count END, "
        f"TRUE, NULL, {reason_sql}, %s, %s, %s "
        f"FROM {cases} latest JOIN {investments} inv ON inv.id = latest.investment_id "
        f"JOIN {reports_table} relied ON relied.id = latest.report_id "
        f"JOIN {reports_table} r ON r.fund_id = inv.fund_id AND r.as_of = %s "
        f"WHERE inv.fund_id IN ({fund_placeholders}) AND latest.state IN (%s, %s) AND relied.verdict <> %s "
        f"AND NOT EXISTS (SELECT 1 FROM {cases} later WHERE later.reexamines_id = latest.id) "
        f"AND NOT EXISTS (SELECT 1 FROM {cases} busy WHERE busy.investment_id = latest.investment_id "
        f"AND busy.state IN (%s, %s, %s)) "
        f"AND EXISTS (SELECT 1 FROM {determinations} d WHERE d.case_id = latest.id AND d.exempt AND NOT d.automatic)"
    )
    params = [
        CaseKind.REEXAMINATION,
        GoverningBasis.AMOUNT,
        *reason_params,
        CaseState.OPENED,
        stamp,
        stamp,
        connection.ops.adapt_datefield_value(reports[0].as_of),
        *(report.fund_id for report in reports),
        *decided,
        Verdict.BREACH,
        *undecided,
    ]
    return _case_sql_and_audit(
        reports=reports,
        select_sql=select_sql,
        params=params,
        by=by,
        action="tolerance.exemption_case.reexamination_opened",
        at=at,
    )


def _mail_cases_opened(*, report: ComplianceReport, count: int, recipients: list[str]) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        facts = {
            "fund": report.fund.name,
            "as_of": report.as_of.isoformat(),
            "count": count,
            "url": f"{settings.SITE_URL}/tolerance/cases/?fund={report.fund_id}",
        }
        if report.verdict == Verdict.BREACH:  # a fund in breach has re-examinations opened, never originals
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
    queue_mail(to=recipients, subject=subject, body=body)


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


def _alert_portfolio_managers(*, report: ComplianceReport, recipients: list[str]) -> None:
    """Mail a warning, a breach, or failed projects outside the standards. A fund with no qualifying
    investment is alerted only for the latter, and its mail says it has no rate ("no data")."""
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


# Funds checked in one transaction by compliance_check_run_many: their rows stay locked until it commits.
CHECK_BATCH = 200


def compliance_check_run_many(*, funds, as_of: datetime.date, by=None) -> list[ComplianceReport]:
    """`compliance_check_run` for several funds (in id order), with their figures from ONE grouped query and
    the rest of the check in a fixed number of queries per CHECK_BATCH funds, whatever their number.

    The figures of every fund are aggregated first, together and before any lock
    (`selectors.compliance_figures_by_fund`, which PostgreSQL answers with one scan instead of one per fund).
    Then each batch of funds is checked in one transaction, as `compliance_check_run` checks one: the rows are
    locked (one query) and, for every fund one of whose investments was saved since the figures were
    counted (`selectors.last_investment_changes`, one query), the figures are counted again under the lock
    before the reports are written. A check that fails rolls back its batch and stops the run: the reports
    of earlier batches are kept, later funds are not checked.
    """
    fund_ids = sorted({fund.pk for fund in funds})
    figures = selectors.compliance_figures_by_fund(fund_ids=fund_ids, as_of=as_of)
    reports = []
    for start in range(0, len(fund_ids), CHECK_BATCH):
        batch = fund_ids[start : start + CHECK_BATCH]
        reports += _check_batch(fund_ids=batch, as_of=as_of, by=by, figures=figures)
    return reports


@transaction.atomic
def _check_batch(*, fund_ids: list[int], as_of: datetime.date, by, figures: dict) -> list[ComplianceReport]:
    funds = _lock_funds(fund_ids)
    changes = selectors.last_investment_changes(fund_ids=[fund.pk for fund in funds])
    stale = [fund.pk for fund in funds if changes.get(fund.pk) != figures[fund.pk].last_change]
    if stale:
        figures = {**figures, **selectors.compliance_figures_by_fund(fund_ids=stale, as_of=as_of)}
    return _record_checks(funds=funds, as_of=as_of, by=by, figures=figures)


def compliance_check_run_all(*, as_of: datetime.date, by=None) -> list[ComplianceReport]:
    """Check every fund (see `compliance_check_run_many`)."""
    return compliance_check_run_many(funds=Fund.objects.only("pk"), as_of=as_of, by=by)
