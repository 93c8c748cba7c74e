"""Writes for the portfolio: the compliance check, the one function every door calls.

The Celery task, the admin action, the dashboard button and `manage.py check_tolerance` all call
`compliance_check_run`, so a check behaves the same whoever starts it. It records its own audit
entries: the report (tolerance.report.created / .changed) and the exemption determinations it writes
or withdraws in bulk (tolerance.exemption.determined / .withdrawn, each listing the rows' ids).
Funds, investments and parties are written by tolerance/portfolio.py.
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
from tolerance.models import ComplianceReport, ExemptionDetermination, Fund, GoverningBasis, Verdict
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
    with its exemption determinations revised, so running twice leaves one report and the same
    exemptions. Within tolerance (the governing basis's exact fraction at most the threshold), every
    party of every failed qualifying investment has an exemption determination (made by this report, or
    by an earlier one); in breach, this report records none and withdraws any it had made. With no
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
    report.exemptions_recorded = _settle_exemptions(report=report, at=now, by=by, rerun=rerun)

    alarming = verdict in (Verdict.WARNING, Verdict.BREACH) or report.unqualified_failed_count
    if alarming and _outcome(report) != previous_outcome:
        _alert_portfolio_managers(report=report)
    logger.info(
        "tolerance check: fund %s as of %s: %s (count %s%%, amount %s%%), %s new exemptions",
        fund.pk,
        as_of,
        verdict,
        rate_by_count,
        rate_by_amount,
        report.exemptions_recorded,
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


# The columns an exemption's audit entry lists for each determination it records or withdraws.
_AUDITED_COLUMNS = ("id", "party_id", "investment_id")


def _settle_exemptions(*, report: ComplianceReport, at: datetime.datetime, by, rerun: bool) -> int:
    """Bring the exemption determinations of `report` in line with its verdict; returns how many it added.

    Each party has one standing determination, made by the first report that finds its failed project
    qualifying within tolerance; later reports leave it alone. A rerun of the same report never
    deletes or rewrites one: what no longer holds is withdrawn (withdrawn_at and its reason, set once),
    and a determination whose reason changed (a new rate) is withdrawn and made again. Each bulk
    statement returns the ids it wrote, and ONE audit entry per statement lists them with their party
    and investment (tolerance.exemption.withdrawn / tolerance.exemption.determined, on the report), so
    no determination escapes the log. A new report has none of its own yet, so only a rerun looks for
    some to withdraw. At most three statements and three entries, whatever the size.
    """
    mine = ExemptionDetermination.objects.filter(report=report)  # the standing ones
    facts = {
        "as_of": report.as_of.isoformat(),
        "basis": report.get_governing_basis_display(),
        "rate": report.governing_rate,
        "threshold": report.tolerance_threshold,
    }
    with translation.override(settings.LANGUAGE_CODE):
        above = (
            _(
                "Withdrawn by the rerun of the check as of %(as_of)s: failure rate %(basis)s %(rate)s%% exceeds "
                "%(threshold)s%%."
            )
            % facts
        )
        no_longer = (
            _(
                "Withdrawn by the rerun of the check as of %(as_of)s: the project no longer qualifies (it had not "
                "failed by then, or no longer meets all five standards)."
            )
            % facts
        )
        revised = (
            _("Replaced by the rerun of the check as of %(as_of)s: the failure rate is now %(basis)s %(rate)s%%.")
            % facts
        )
        reason = (
            _(
                "Within the failure tolerance as of %(as_of)s: failure rate %(basis)s %(rate)s%% does not exceed "
                "%(threshold)s%%, and the project met all five standards."
            )
            % facts
        )
    if report.verdict == Verdict.BREACH:
        if rerun:
            _withdraw(mine, report=report, reason=above, at=at, by=by)
        return 0
    eligible = selectors.exemptible_parties(fund_id=report.fund_id, as_of=report.as_of)
    if rerun:
        _withdraw(mine.exclude(party__in=eligible.values("pk")), report=report, reason=no_longer, at=at, by=by)
        _withdraw(mine.exclude(reason=reason), report=report, reason=revised, at=at, by=by)

    rows = eligible.annotate(exempt_investment=F("investment_id"), exempt_party=F("pk")).values_list(
        "exempt_investment", "exempt_party"
    )
    rows_sql, rows_params = rows.order_by().query.sql_with_params()
    table = connection.ops.quote_name(ExemptionDetermination._meta.db_table)
    # One INSERT ... SELECT: no party is loaded into Python; only the ids written come back, for the audit entry.
    sql = (
        f"INSERT INTO {table} (report_id, investment_id, party_id, exempt, reason, determined_at, "  # noqa: S608 - names are ours
        f"withdrawn_at, withdrawal_reason) "
        f"SELECT %s, parties.exempt_investment, parties.exempt_party, %s, %s, %s, NULL, '' FROM ({rows_sql}) parties "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table} determined WHERE determined.party_id = parties.exempt_party "
        f"AND determined.withdrawn_at IS NULL) "
        f"RETURNING {', '.join(_AUDITED_COLUMNS)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [report.pk, True, reason, connection.ops.adapt_datetimefield_value(at), *rows_params])
        written = sorted(cursor.fetchall())
    if written:
        audit.record(
            action="tolerance.exemption.determined",
            actor=by,
            object_type=report._meta.label_lower,
            object_id=report.pk,
            after={
                "exempt": True,
                "reason": reason,
                "determined_at": at,
                "columns": list(_AUDITED_COLUMNS),
                "determinations": [list(row) for row in written],
            },
        )
    return len(written)


def _withdraw(determinations, *, report: ComplianceReport, reason: str, at: datetime.datetime, by) -> None:
    """Withdraw the standing `determinations` in ONE UPDATE ... RETURNING, and record the ids in one entry.

    Only standing rows are touched (`withdrawn_at IS NULL`), so a withdrawal is set once and never moved.
    """
    ids_sql, ids_params = determinations.order_by().values("pk").query.sql_with_params()
    table = connection.ops.quote_name(ExemptionDetermination._meta.db_table)
    sql = (
        f"UPDATE {table} SET withdrawn_at = %s, withdrawal_reason = %s "  # noqa: S608 - names are ours
        f"WHERE withdrawn_at IS NULL AND id IN ({ids_sql}) RETURNING {', '.join(_AUDITED_COLUMNS)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [connection.ops.adapt_datetimefield_value(at), reason, *ids_params])
        withdrawn = sorted(cursor.fetchall())
    if withdrawn:
        audit.record(
            action="tolerance.exemption.withdrawn",
            actor=by,
            object_type=report._meta.label_lower,
            object_id=report.pk,
            after={
                "withdrawal_reason": reason,
                "withdrawn_at": at,
                "columns": list(_AUDITED_COLUMNS),
                "determinations": [list(row) for row in withdrawn],
            },
        )


def _require_superuser(by) -> None:
    if by is not None and not getattr(by, "is_superuser", False):
        raise Forbidden(_("Only a superuser may remove compliance records."))


@transaction.atomic
def report_delete(*, report: ComplianceReport, by) -> None:
    """A superuser removes a report made in error, with its exemption determinations (standing and
    withdrawn). The fund row is locked as a check locks it; one audit entry keeps the report's values and
    lists every determination removed with it, so even this escape hatch leaves a trace."""
    _require_superuser(by)
    Fund.objects.select_for_update().filter(pk=report.fund_id).first()
    report = ComplianceReport.objects.get(pk=report.pk)
    rows = ExemptionDetermination.with_withdrawn.filter(report=report).order_by("pk").values_list(*_AUDITED_COLUMNS)
    audit.record(
        action="tolerance.report.deleted",
        actor=by,
        object_type=report._meta.label_lower,
        object_id=report.pk,
        before={**audit.snapshot(report), "columns": list(_AUDITED_COLUMNS), "determinations": [list(r) for r in rows]},
    )
    report.delete()


@transaction.atomic
def exemption_delete(*, determination: ExemptionDetermination, by) -> None:
    """A superuser removes one determination written in error; its audit entry keeps its values."""
    _require_superuser(by)
    determination = ExemptionDetermination.with_withdrawn.select_for_update().get(pk=determination.pk)
    audit.record_deleted(determination, action="tolerance.exemption.deleted", actor=by)
    determination.delete()


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
            lines.append(_("The fund is above its tolerance: no exemption has been recorded."))
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
