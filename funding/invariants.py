"""The start-up fund's invariants, checked over the whole database with a few aggregate queries.

The services keep these true under row locks and the database's constraints; this module checks the
result from the outside, so that a concurrency test, the load test (bench/load_invariants.py) and an
operator (`manage.py check_invariants`) all ask the same questions:

- budgets: no sub-venue's yearly budget is overspent, and its counters agree with the applications
  (reserved = the approved amounts of the grants on it, less what recoveries released or brought back;
  disbursed = their instalments; recovered = their repayments);
- after the grant: each instalment after the first was released by the accepted fund-use report on the one
  before it (the last also after a passed final acceptance); each plan adds up to its agreement; each
  submitted report's lines add up to its spend, within what was disbursed; each recovery order agrees with
  its repayments and is at most what was disbursed;
- instalments: each application's instalments add up to its disbursed total, never above the approval;
- one grant per entity, ever, and at most one open application per entity;
- history: every application's history starts at the workflow's initial state ("draft"), each row
  leaves from the state the row before it reached, each state change is a transition of
  funding.workflow.WORKFLOW, and the last row reaches the application's current state;
- the audit log's hash chain verifies.

Messages are for operators and developers and stay in English, as `verify_audit_log`'s do.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Count, DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from funding.models import (
    Application,
    ApplicationEvent,
    Disbursement,
    ExpenseLine,
    FundingAgreement,
    FundUseReport,
    PlannedInstalment,
    RecoveryOrder,
    Repayment,
    SubVenueBudget,
)
from funding.workflow import WORKFLOW
from valley.audit import verify_chain

ZERO = Value(Decimal("0.00"), output_field=DecimalField(max_digits=14, decimal_places=2))


def _yuan(amount) -> str:
    """Two decimals whatever the database returned (SQLite's sums come back as 1500000, not 1500000.00)."""
    return f"{Decimal(amount):.2f}"


@dataclass(frozen=True)
class Violation:
    check: str  # one of CHECKS
    subject: str  # e.g. "budget 3" or "application 17"
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.subject}: {self.detail}"


@dataclass
class Report:
    checked: dict[str, int] = field(default_factory=dict)  # check → how many rows it examined
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def count(self, check: str) -> int:
        return sum(1 for violation in self.violations if violation.check == check)


CHECKS = {
    "budget_within_amount": "budgets: reserved ≤ budget and disbursed ≤ reserved + recovered, per sub-venue and year",
    "budget_counters_match": "budgets: reserved, disbursed and recovered equal the grants' approvals (less what "
    "recoveries released or brought back), instalments and repayments",
    "instalments_within_approval": "applications: instalments add up to the disbursed total, ≤ the approval",
    "releases_follow_reports": "instalments: each after the first released by the accepted report on the one before",
    "plan_adds_up": "agreements: the planned instalments add up to the agreement's amount",
    "report_lines_add_up": "fund-use reports: submitted lines add up to the spend, spend ≤ disbursed",
    "recovery_matches_repayments": "recoveries: repaid = the repayments = the application's recovered, ≤ disbursed",
    "one_grant_per_entity": "entities: at most one granted application, ever",
    "one_open_per_entity": "entities: at most one open application",
    "history_path": "history: starts at draft, each row leaves from the last state, along WORKFLOW",
    "history_reaches_state": "history: the last row reaches the application's current state",
    "audit_chain": "audit log: the hash chain verifies",
}


def allowed_state_changes() -> set[tuple[str, str]]:
    """(from, to) for every transition of the workflow that changes the state."""
    return {
        (source, transition.target)
        for transition in WORKFLOW.transitions.values()
        for source in transition.sources
        if source != transition.target
    }


def check_invariants(*, audit: bool = True) -> Report:
    report = Report()
    _budgets(report)
    _instalments(report)
    _after_the_grant(report)
    _one_per_entity(report)
    _history(report)
    if audit:
        chain = verify_chain()
        report.checked["audit_chain"] = chain.entries
        if not chain.ok:
            report.violations.append(Violation("audit_chain", f"audit entry {chain.first_bad_id}", str(chain.problem)))
    return report


def _budgets(report: Report) -> None:
    granted = Application.objects.filter(budget=OuterRef("pk"), state__in=Application.GRANTED_STATES)
    approved = (
        granted.values("budget")
        .annotate(total=Sum(F("approved_amount") - F("reserve_released") - F("recovered_total")))
        .values("total")
    )
    repaid = (
        Repayment.objects.filter(order__application__budget=OuterRef("pk"))
        .values("order__application__budget")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    paid = (
        Disbursement.objects.filter(application__budget=OuterRef("pk"))
        .values("application__budget")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    rows = SubVenueBudget.objects.annotate(
        approved_total=Coalesce(Subquery(approved), ZERO),
        paid_total=Coalesce(Subquery(paid), ZERO),
        repaid_total=Coalesce(Subquery(repaid), ZERO),
    ).values_list(
        "pk",
        "sub_venue_id",
        "year",
        "amount",
        "reserved",
        "disbursed",
        "recovered",
        "approved_total",
        "paid_total",
        "repaid_total",
    )
    count = 0
    for pk, venue, year, amount, reserved, disbursed, recovered, approved_total, paid_total, repaid_total in rows:
        count += 1
        subject = f"budget {pk} (sub-venue {venue}, {year})"
        if recovered != repaid_total:
            report.violations.append(
                Violation(
                    "budget_counters_match",
                    subject,
                    f"recovered {_yuan(recovered)} but repayments add up to {_yuan(repaid_total)}",
                )
            )
        if not (0 <= reserved <= amount and 0 <= disbursed <= reserved + recovered):
            report.violations.append(
                Violation(
                    "budget_within_amount",
                    subject,
                    f"budget {_yuan(amount)}, reserved {_yuan(reserved)}, disbursed {_yuan(disbursed)}",
                )
            )
        if reserved != approved_total or disbursed != paid_total:
            report.violations.append(
                Violation(
                    "budget_counters_match",
                    subject,
                    f"reserved {_yuan(reserved)} but grants approved {_yuan(approved_total)}; "
                    f"disbursed {_yuan(disbursed)} but instalments paid {_yuan(paid_total)}",
                )
            )
    report.checked["budget_within_amount"] = report.checked["budget_counters_match"] = count


def _instalments(report: Report) -> None:
    paid = (
        Disbursement.objects.filter(application=OuterRef("pk"))
        .values("application")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    applications = Application.objects.annotate(paid_total=Coalesce(Subquery(paid), ZERO))
    broken = applications.filter(
        ~Q(paid_total=F("disbursed_total"))
        | Q(paid_total__gt=0, approved_amount__isnull=True)
        | Q(paid_total__gt=F("approved_amount"))
    ).values_list("pk", "approved_amount", "disbursed_total", "paid_total")
    for pk, approved, disbursed, paid_total in broken:
        report.violations.append(
            Violation(
                "instalments_within_approval",
                f"application {pk}",
                f"approved {'nothing' if approved is None else _yuan(approved)}, disbursed total "
                f"{_yuan(disbursed)}, instalments add up to {_yuan(paid_total)}",
            )
        )
    report.checked["instalments_within_approval"] = Application.objects.count()


def _one_per_entity(report: Report) -> None:
    per_entity = Application.objects.values("entity").annotate(
        grants=Count("pk", filter=Q(state__in=Application.GRANTED_STATES)),
        open=Count("pk", filter=~Q(state__in=Application.ENDED_STATES)),
    )
    for row in per_entity.filter(Q(grants__gt=1) | Q(open__gt=1)).order_by("entity"):
        if row["grants"] > 1:
            report.violations.append(
                Violation("one_grant_per_entity", f"entity {row['entity']}", f"{row['grants']} granted applications")
            )
        if row["open"] > 1:
            report.violations.append(
                Violation("one_open_per_entity", f"entity {row['entity']}", f"{row['open']} open applications")
            )
    entities = Application.objects.values("entity").distinct().count()
    report.checked["one_grant_per_entity"] = report.checked["one_open_per_entity"] = entities


def _history(report: Report) -> None:
    # Rows in the order they were written: the id, assigned while the service held the application's row lock.
    # Raw SQL because Django cannot filter on a window function inside an OR; both PostgreSQL and SQLite run it.
    moves = sorted(f"{source}>{target}" for source, target in allowed_state_changes())
    table = connection.ops.quote_name(ApplicationEvent._meta.db_table)
    sql = f"""
        WITH ordered AS (
            SELECT id, application_id, action, from_state, to_state,
                   ROW_NUMBER() OVER (PARTITION BY application_id ORDER BY id) AS position,
                   LAG(to_state) OVER (PARTITION BY application_id ORDER BY id) AS previous_to
            FROM {table}
        )
        SELECT application_id, id, position, action, from_state, to_state, previous_to FROM ordered
        WHERE (position = 1 AND NOT (from_state = '' AND to_state = %s))
           OR (position > 1 AND from_state <> previous_to)
           OR (position > 1 AND from_state <> to_state
               AND from_state || '>' || to_state NOT IN ({", ".join(["%s"] * len(moves))}))
        ORDER BY id
    """  # noqa: S608 - the table name comes from the model; every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, [WORKFLOW.initial, *moves])
        broken = cursor.fetchall()
    for application_id, pk, position, action, from_state, to_state, previous_to in broken:
        if position == 1:
            detail = f"history row {pk} ({action}) is the first but goes {from_state or '-'} → {to_state}"
        elif from_state != previous_to:
            detail = f"history row {pk} ({action}) leaves from {from_state}, but the row before reached {previous_to}"
        else:
            detail = f"history row {pk} ({action}) goes {from_state} → {to_state}: no transition of the workflow"
        report.violations.append(Violation("history_path", f"application {application_id}", detail))
    report.checked["history_path"] = ApplicationEvent.objects.count()

    last = ApplicationEvent.objects.filter(application=OuterRef("pk")).order_by("-pk").values("to_state")[:1]
    mismatched = (
        Application.objects.annotate(last_state=Subquery(last))
        .filter(Q(last_state__isnull=True) | ~Q(state=F("last_state")))
        .values_list("pk", "state", "last_state")
    )
    for pk, state, last_state in mismatched.order_by("pk"):
        detail = (
            f"is “{state}” but has no history"
            if last_state is None
            else f"is “{state}” but its last history row reached “{last_state}”"
        )
        report.violations.append(Violation("history_reaches_state", f"application {pk}", detail))
    report.checked["history_reaches_state"] = Application.objects.count()


def _after_the_grant(report: Report) -> None:
    # Instalments after the first: the releasing report is accepted, of the same application, on the
    # instalment just before; the last of a plan also follows a passed final acceptance.
    planned = PlannedInstalment.objects.filter(agreement__application=OuterRef("application")).values(
        "agreement__application"
    )
    later = (
        Disbursement.objects.filter(number__gt=1, released_before_reports=False)
        .annotate(planned_count=Subquery(planned.annotate(n=Count("pk")).values("n")))
        .select_related("released_by_report__instalment", "application__final_acceptance")
    )
    count = 0
    for instalment in later.iterator(chunk_size=2000):
        count += 1
        source = instalment.released_by_report
        subject = f"application {instalment.application_id}, instalment {instalment.number}"
        if (
            source is None
            or source.state != FundUseReport.State.ACCEPTED
            or source.application_id != instalment.application_id
            or source.instalment.number != instalment.number - 1
        ):
            report.violations.append(
                Violation("releases_follow_reports", subject, "not released by the accepted report on the one before")
            )
        elif instalment.number == instalment.planned_count:
            acceptance = getattr(instalment.application, "final_acceptance", None)
            if acceptance is None or acceptance.result != acceptance.Result.PASSED:
                report.violations.append(
                    Violation("releases_follow_reports", subject, "the last instalment without a passed acceptance")
                )
    report.checked["releases_follow_reports"] = count

    sums = FundingAgreement.objects.annotate(planned_total=Coalesce(Sum("instalments__amount"), ZERO))
    for pk, application_id, amount, total in sums.exclude(planned_total=F("amount")).values_list(
        "pk", "application_id", "amount", "planned_total"
    ):
        report.violations.append(
            Violation(
                "plan_adds_up",
                f"application {application_id}",
                f"agreement {pk} of {_yuan(amount)} plans {_yuan(total)}",
            )
        )
    report.checked["plan_adds_up"] = FundingAgreement.objects.count()

    lines = ExpenseLine.objects.filter(report=OuterRef("pk")).values("report").annotate(t=Sum("amount")).values("t")
    reports = FundUseReport.objects.exclude(state=FundUseReport.State.DRAFT).annotate(
        lines_total=Coalesce(Subquery(lines), ZERO)
    )
    for pk, application_id, spent, disbursed, total in reports.filter(
        ~Q(lines_total=F("spent")) | Q(spent__gt=F("disbursed"))
    ).values_list("pk", "application_id", "spent", "disbursed", "lines_total"):
        report.violations.append(
            Violation(
                "report_lines_add_up",
                f"application {application_id}, report {pk}",
                f"spent {_yuan(spent)} of {_yuan(disbursed)} disbursed, lines add up to {_yuan(total)}",
            )
        )
    report.checked["report_lines_add_up"] = reports.count()

    repaid = Repayment.objects.filter(order=OuterRef("pk")).values("order").annotate(t=Sum("amount")).values("t")
    orders = RecoveryOrder.objects.annotate(repaid_total=Coalesce(Subquery(repaid), ZERO))
    for pk, application_id, recovered, total, app_recovered, amount, disbursed in orders.filter(
        ~Q(recovered=F("repaid_total"))
        | ~Q(application__recovered_total=F("recovered"))
        | Q(amount__gt=F("application__disbursed_total"))
    ).values_list(
        "pk",
        "application_id",
        "recovered",
        "repaid_total",
        "application__recovered_total",
        "amount",
        "application__disbursed_total",
    ):
        report.violations.append(
            Violation(
                "recovery_matches_repayments",
                f"application {application_id}, recovery {pk}",
                f"order of {_yuan(amount)} (disbursed {_yuan(disbursed)}) says {_yuan(recovered)} recovered, "
                f"repayments add up to {_yuan(total)}, the application says {_yuan(app_recovered)}",
            )
        )
    report.checked["recovery_matches_repayments"] = orders.count()
