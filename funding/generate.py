"""The start-up fund's part of the province generator (valley.ops.generator): applications in every state
with their history, one budget per sub-venue and year, and for every grant whose registration was verified
its life after the money: the funding agreement and its plan, the instalments paid, the fund-use reports
(with expense lines), the final acceptance and the recovery orders with their repayments.

Every application's history is a walk of funding.workflow.WORKFLOW from a draft to its state, padded with
rounds of "returned for changes, submitted again" so the rows add up to the size asked for. Every database
rule and every check of funding.invariants holds for the generated rows: one open application and one grant
per entity; granted applications reserve from their sub-venue's budget, which is never overspent; the
instalments are the plan's, each after the first released by the accepted report on the one before and the
last after a passed final acceptance; what a recovery releases or brings back leaves the budget's reserve.
"""

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from django.db import connection

from funding.models import EXPENSE_CATEGORIES, Application, FundPolicy, FundUseReport, RecoveryOrder, SubVenueBudget
from funding.services import instalment_split
from funding.workflow import BEFORE_DECISION, REPORT_WORKFLOW, WORKFLOW, history_action
from valley.ops.generator import Province

S = Application.State
R = FundUseReport.State
YEARS = (2024, 2025)
# The policy snapshot every generated application carries: the defaults of DOMAIN.md, the policy a fresh
# database starts with.
POLICY = (Decimal("300000.00"), Decimal("1000000.00"), Decimal("0.500"))
FEN = Decimal("0.01")

# The states an application is generated in. The random draws pick from these tuples by position, so their
# order is part of what a seed gives.
ENDED = tuple(state for state in Application.ENDED_STATES if state not in Application.GRANTED_STATES)
OPEN_BEFORE_DECISION = BEFORE_DECISION
OPEN_GRANTED = tuple(state for state in Application.GRANTED_STATES if state not in Application.ENDED_STATES)
# The states of a grant whose registration was verified: it has an agreement and has been paid.
AFTER_THE_MONEY = (S.DISBURSEMENT, S.RECOVERY, S.CLOSED)

# Where a generated history passes on its way to these states: a withdrawal after the submission and a
# rejection at the decision, the usual ways (the shortest ones, straight from a draft and at the formal
# review, are possible too but rarer).
VIA = {S.WITHDRAWN: S.SUBMITTED, S.REJECTED: S.AWAITING_DECISION}

Step = tuple[str, str, str]  # (action code, from state, to state): one history row


def _steps(transitions, source: str) -> list[Step]:
    """The history rows of a walk: one row per transition, each leaving from where the one before arrived."""
    steps = []
    for transition in transitions:
        steps.append((history_action(transition.name), source, transition.target))
        source = transition.target
    return steps


def path_to(state: str) -> list[Step]:
    """The history rows that lead from a draft to `state` (the creation row not included). For the states
    after the money, the walk up to the verified registration: after_the_money() writes the rest."""
    if state in AFTER_THE_MONEY:
        state = S.DISBURSEMENT
    via = VIA.get(state)
    if via is None:
        return _steps(WORKFLOW.path_to(state), WORKFLOW.initial)
    return _steps([*WORKFLOW.path_to(via), *WORKFLOW.path_to(state, start=via)], WORKFLOW.initial)


# One round of changes asked and made, from the formal review back to it.
LOOP = _steps(
    [*WORKFLOW.path_to(S.RETURNED, start=S.FORMAL_REVIEW), *WORKFLOW.path_to(S.FORMAL_REVIEW, start=S.RETURNED)],
    S.FORMAL_REVIEW,
)


# ---------------------------------------------------------------------------- after the money


@dataclass
class ReportPlan:
    """A fund-use report on instalment `number`; `events` are its history rows (action, from, to, by the
    owner?, at)."""

    number: int
    state: str
    due_on: datetime.date
    disbursed: Decimal
    spent: Decimal = Decimal("0.00")
    lines: list[tuple[str, Decimal]] = field(default_factory=list)
    submitted_at: datetime.datetime | None = None
    decided_at: datetime.datetime | None = None
    events: list[tuple[str, str, str, bool, datetime.datetime]] = field(default_factory=list)


@dataclass
class RecoveryPlan:
    reason: str
    amount: Decimal
    disbursed_when_opened: Decimal
    opened_at: datetime.datetime
    repayments: list[tuple[Decimal, datetime.date]] = field(default_factory=list)
    completed_at: datetime.datetime | None = None

    @property
    def recovered(self) -> Decimal:
        return sum((amount for amount, _on in self.repayments), Decimal("0.00"))


@dataclass
class Story:
    """A grant's life after its registration was verified, planned without the database."""

    plan: list[Decimal]  # the agreement's instalments, in order
    verified_at: datetime.datetime  # when the agreement was recorded
    instalments: list[tuple[int, Decimal, datetime.date]] = field(default_factory=list)  # paid: number, amount, on
    reports: list[ReportPlan] = field(default_factory=list)
    acceptance: tuple[str, datetime.date] | None = None  # (result, date)
    recovery: RecoveryPlan | None = None
    # History rows from the disbursement state on: (action, from, to, by the portal rather than staff?, at).
    steps: list[tuple[str, str, str, bool, datetime.datetime]] = field(default_factory=list)

    @property
    def disbursed(self) -> Decimal:
        return sum((amount for _n, amount, _on in self.instalments), Decimal("0.00"))

    @property
    def reserve_released(self) -> Decimal:
        return sum(self.plan, Decimal("0.00")) - self.disbursed if self.recovery else Decimal("0.00")


CATEGORIES = tuple(code for code, _label in EXPENSE_CATEGORIES)
REPORT_ACTION = {name: f"{REPORT_WORKFLOW.name}.{name}" for name in REPORT_WORKFLOW.transitions}


def _lines(rnd, spent: Decimal) -> list[tuple[str, Decimal]]:
    """Two or three expense lines of different categories that add up to `spent` exactly."""
    categories = rnd.sample(CATEGORIES, rnd.randrange(2, 4))
    amounts = [(spent * Decimal(rnd.randrange(20, 45)) / 100).quantize(FEN, ROUND_DOWN) for _c in categories[:-1]]
    amounts.append(spent - sum(amounts, Decimal("0.00")))
    return list(zip(categories, amounts, strict=True))


def _file_report(rnd, report: ReportPlan, state: str, paid_at: datetime.datetime) -> datetime.datetime:
    """Fill in `report` up to `state` (submitted, returned or accepted); returns when it was last acted on."""
    report.state = state
    report.spent = (report.disbursed * Decimal(rnd.randrange(70, 101)) / 100).quantize(FEN, ROUND_DOWN)
    report.lines = _lines(rnd, report.spent)
    at = paid_at + datetime.timedelta(days=rnd.randrange(30, 80))
    report.submitted_at = at
    report.events.append((REPORT_ACTION["submit"], R.DRAFT, R.SUBMITTED, True, at))
    # An accepted report was returned once in four before it was accepted.
    if state == R.RETURNED or (state == R.ACCEPTED and rnd.random() < 0.25):
        at += datetime.timedelta(days=5)
        report.decided_at = at
        report.events.append((REPORT_ACTION["return"], R.SUBMITTED, R.RETURNED, False, at))
        if state == R.ACCEPTED:
            at += datetime.timedelta(days=7)
            report.submitted_at = at
            report.events.append((REPORT_ACTION["submit"], R.RETURNED, R.SUBMITTED, True, at))
    if state == R.ACCEPTED:
        at += datetime.timedelta(days=5)
        report.decided_at = at
        report.events.append((REPORT_ACTION["accept"], R.SUBMITTED, R.ACCEPTED, False, at))
    return at


def after_the_money(
    rnd, state: str, approved: Decimal, shares, verified_at: datetime.datetime, report_due_days: int
) -> Story:
    """What happened to a grant from its verified registration to `state` (disbursement, recovery or closed),
    by the rules of funding.services and funding.post_award: the plan's instalments in order, each after the
    first once the report on the one before was accepted, the last after a passed final acceptance (and it
    closes the grant); a recovery of at most what was paid, which releases the unpaid reserve and, repaid in
    full, closes the grant."""
    story = Story(plan=instalment_split(approved, shares), verified_at=verified_at)
    count = len(story.plan)
    by_recovery = state == S.RECOVERY or (state == S.CLOSED and rnd.random() < 1 / 6)
    paid = count if state == S.CLOSED and not by_recovery else rnd.randrange(1, count)
    at = verified_at + datetime.timedelta(days=5)
    for number in range(1, paid + 1):
        if number == count:  # the last: after a passed final acceptance
            at += datetime.timedelta(days=10)
            story.acceptance = ("passed", at.date())
            story.steps.append((history_action("record_acceptance"), S.DISBURSEMENT, S.DISBURSEMENT, False, at))
            at += datetime.timedelta(days=5)
        story.instalments.append((number, story.plan[number - 1], at.date()))
        story.steps.append((history_action("disburse"), S.DISBURSEMENT, S.DISBURSEMENT, False, at))
        if number == count:
            story.steps.append((history_action("close"), S.DISBURSEMENT, S.CLOSED, True, at))
            break
        report = ReportPlan(
            number=number,
            state=R.DRAFT,
            due_on=at.date() + datetime.timedelta(days=report_due_days),
            disbursed=story.disbursed,
        )
        story.reports.append(report)
        if number < paid:  # it released the next instalment
            at = _file_report(rnd, report, R.ACCEPTED, at) + datetime.timedelta(days=3)
        else:  # the report on the last instalment paid so far: anywhere on its way
            reached = (R.DRAFT, R.SUBMITTED, R.RETURNED, R.ACCEPTED)[rnd.randrange(4)]
            if reached != R.DRAFT:
                at = _file_report(rnd, report, reached, at)
            if reached == R.ACCEPTED and number == count - 1 and rnd.random() < 0.5:
                # The final acceptance is due: passed (the last instalment waits to be released) or, for a
                # grant that ends in a recovery, failed.
                at += datetime.timedelta(days=10)
                story.acceptance = ("failed" if by_recovery else "passed", at.date())
                story.steps.append((history_action("record_acceptance"), S.DISBURSEMENT, S.DISBURSEMENT, False, at))
    if by_recovery:
        disbursed = story.disbursed
        failed = story.acceptance is not None and story.acceptance[0] == "failed"
        reason = RecoveryOrder.Reason.FAILED_ACCEPTANCE if failed else rnd.choice(("misuse", "fraud"))
        amount = (disbursed * Decimal(rnd.choice((100, 80, 50))) / 100).quantize(FEN, ROUND_DOWN)
        at += datetime.timedelta(days=20)
        order = RecoveryPlan(reason=reason, amount=amount, disbursed_when_opened=disbursed, opened_at=at)
        story.recovery = order
        story.steps.append((history_action("open_recovery"), S.DISBURSEMENT, S.RECOVERY, False, at))
        if state == S.CLOSED:  # repaid in full, in one repayment or two
            first = amount if rnd.random() < 0.5 else (amount * Decimal("0.6")).quantize(FEN, ROUND_DOWN)
            parts = [first] if first == amount else [first, amount - first]
        else:  # none, one or two repayments, never the whole order
            parts = [(amount * Decimal("0.3")).quantize(FEN, ROUND_DOWN)] * rnd.randrange(3)
        for part in parts:
            at += datetime.timedelta(days=30)
            order.repayments.append((part, at.date()))
            story.steps.append((history_action("record_repayment"), S.RECOVERY, S.RECOVERY, False, at))
        if state == S.CLOSED:
            order.completed_at = at
            story.steps.append((history_action("complete_recovery"), S.RECOVERY, S.CLOSED, True, at))
    return story


def generate(province: Province) -> None:
    """Reads "entity_ids", "venue_of", "owner_of", "venues" and "staff_user" (who decided and paid);
    leaves "application_count" (the applications' ids are 1 … that number)."""
    made = province.made
    entity_ids, venue_of, owner_of = made["entity_ids"], made["venue_of"], made["owner_of"]
    staff_user = made["staff_user"]
    n, history = province.sizes["applications"], province.sizes["history"]
    province.log(f"{n:,} applications in every state, {history:,} history rows, budgets and instalments")
    rnd = province.random
    policy = FundPolicy.objects.order_by("pk").first()
    per_entity = max(1, n // len(entity_ids))
    plans = []  # (entity, venue, year, state)
    for index in range(n):
        entity = entity_ids[(index // per_entity) % len(entity_ids)]
        slot = index % per_entity
        # An entity's applications: earlier ones ended; the second to last is its one grant (closed or
        # still open); the last is open only when the grant is closed. One open, one granted, at most.
        if slot < per_entity - 2:
            state = ENDED[rnd.randrange(len(ENDED))]
        elif slot == per_entity - 2:
            state = rnd.choice((S.CLOSED, S.CLOSED, *OPEN_GRANTED, S.REJECTED))
        else:
            previous = plans[-1][3] if per_entity > 1 else S.CLOSED
            state = rnd.choice(OPEN_BEFORE_DECISION) if previous in (S.CLOSED, S.REJECTED) else S.WITHDRAWN
        plans.append((entity, venue_of[entity], YEARS[index % 2], state))

    paths = {state: path_to(state) for state in S.values}
    shares, due_days = policy.instalment_shares, policy.report_due_days
    events_per_app = history / n
    approvals: dict = {}  # per budget: what the approvals reserved when they were made
    counters: dict = {}  # per budget: (reserved, disbursed, recovered) as the grants stand now
    produced = 0
    rows, events = [], []
    after = []  # (application id, owner, story)
    min_amount, max_amount, share = POLICY
    for number, (entity, venue, year, state) in enumerate(plans, start=1):
        created = province.at((year - 2024) * 365 + rnd.uniform(0, 330))
        amount = Decimal(rnd.randrange(300, 1001) * 1000)
        granted = state in Application.GRANTED_STATES
        approved = amount - Decimal(rnd.randrange(0, 3) * 10000) if granted else None
        approved = max(approved, min_amount) if approved is not None else None
        verified = state in AFTER_THE_MONEY
        verified_at = created + datetime.timedelta(days=55)
        story = after_the_money(rnd, state, approved, shares, verified_at, due_days) if verified else None
        if granted:
            key = (venue, year)
            zero = Decimal("0.00")
            approvals[key] = approvals.get(key, zero) + approved
            reserved, disbursed, recovered = counters.get(key, (zero, zero, zero))
            back = story.recovery.recovered if story and story.recovery else zero
            released, paid = (story.reserve_released, story.disbursed) if story else (zero, zero)
            counters[key] = (reserved + approved - released - back, disbursed + paid, recovered + back)
        if story is not None:
            after.append((number, owner_of[entity], story))
        submitted = None if state == S.DRAFT else created + datetime.timedelta(days=1)
        rows.append(
            [
                number,
                entity,
                venue,
                state,
                amount,
                f"中试线建设 {number}",
                "以资金推动成果转化为企业",
                owner_of[entity],
                created,
                submitted,
                policy.pk,
                min_amount,
                max_amount,
                share,
                approved,
                created + datetime.timedelta(days=40) if granted or state == S.REJECTED else None,
                staff_user.pk if granted else None,
                (venue, year) if granted else None,  # the budget id, filled in below
                (created + datetime.timedelta(days=50)).date() if granted else None,
                "",
                approved * 2 if verified else None,
                story.disbursed if story else Decimal("0.00"),
                story.reserve_released if story else Decimal("0.00"),
                story.recovery.recovered if story and story.recovery else Decimal("0.00"),
            ]
        )
        path = paths[state]
        money = story.steps if story else []
        # Pad the history with rounds of changes asked and made, inserted once the path reaches the formal
        # review, so the rows add up to `history`. A short history (a draft, a withdrawal) leaves its share
        # to the next application.
        want = int(events_per_app * number) - produced
        reach = next((i + 1 for i, (_a, _s, target) in enumerate(path) if target == S.FORMAL_REVIEW), None)
        if reach is None:
            loops, reach = 0, len(path)
        else:
            loops = max(0, (want - len(path) - len(money) - 1) // len(LOOP))
        steps = [(f"{WORKFLOW.name}.created", "", WORKFLOW.initial), *path[:reach], *LOOP * loops, *path[reach:]]
        produced += len(steps) + len(money)
        for offset, (action, source, target) in enumerate(steps):
            events.append((number, action, source, target, False, created + datetime.timedelta(hours=offset + 1)))
        events.extend((number, *step) for step in money)

    budget_ids = _budgets(made["venues"], approvals, counters)
    for row in rows:
        if row[17] is not None:
            row[17] = budget_ids[row[17]]
    columns = [
        "id",
        "entity_id",
        "sub_venue_id",
        "state",
        "amount",
        "purpose",
        "plan",
        "created_by_id",
        "created_at",
        "submitted_at",
        "policy_id",
        "min_amount",
        "max_amount",
        "max_paid_in_share",
        "approved_amount",
        "decided_at",
        "decided_by_id",
        "budget_id",
        "notice_ends_on",
        "objection",
        "paid_in_capital",
        "disbursed_total",
        "reserve_released",
        "recovered_total",
    ]
    province.copy("funding_application", columns, rows)
    staff = staff_user.pk
    province.copy(
        "funding_applicationevent",
        ["application_id", "action", "from_state", "to_state", "by_id", "at", "comment", "internal_note"],
        (
            (app, action, source, target, None if by_portal else staff, at, "材料齐全，进入下一环节", "")
            for app, action, source, target, by_portal, at in events
        ),
    )
    _after_the_money(province, after, policy, staff)
    with connection.cursor() as cursor:
        for table in ("funding_application", "funding_applicationevent", *AFTER_THE_MONEY_TABLES):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")  # noqa: S608
    made["application_count"] = len(rows)


AFTER_THE_MONEY_TABLES = (
    "funding_fundingagreement",
    "funding_plannedinstalment",
    "funding_disbursement",
    "funding_fundusereport",
    "funding_expenseline",
    "funding_fundusereportevent",
    "funding_finalacceptance",
    "funding_recoveryorder",
    "funding_repayment",
)


def _after_the_money(province: Province, after: list, policy: FundPolicy, staff: int) -> None:
    """The rows of the grants' stories: ids are given here (1, 2, …, on freshly emptied tables) so that an
    instalment can name the report that released it before that report's row goes in; the foreign keys are
    checked at commit."""
    agreements, planned, disbursements, reports, lines, report_events = [], [], [], [], [], []
    acceptances, orders, repayments = [], [], []
    disbursement_id = report_id = 0
    for agreement_id, (app, owner, story) in enumerate(after, start=1):
        plan_total = sum(story.plan, Decimal("0.00"))
        agreements.append((agreement_id, app, plan_total, f"中试线建设 {app}", policy.pk, story.verified_at, staff))
        planned.extend(
            (agreement_id, number, share, amount)
            for number, (share, amount) in enumerate(zip(policy.instalment_shares, story.plan, strict=True), start=1)
        )
        report_of: dict[int, int] = {}  # instalment number → the id of the report on it
        for report in story.reports:
            report_of[report.number] = report_id + report.number
        paid_ids: dict[int, int] = {}
        for number, amount, paid_on in story.instalments:
            disbursement_id += 1
            paid_ids[number] = disbursement_id
            paid_at = datetime.datetime.combine(paid_on, datetime.time(10), tzinfo=datetime.UTC)
            released_by = report_of.get(number - 1)
            disbursements.append(
                (disbursement_id, app, number, amount, paid_on, f"PAY-{app}-{number}", staff, paid_at, released_by)
            )
        for report in story.reports:
            pk = report_of[report.number]
            decided_by = staff if report.decided_at else None
            reports.append(
                (
                    pk,
                    app,
                    paid_ids[report.number],
                    report.state,
                    report.due_on,
                    report.disbursed,
                    report.spent,
                    "资金按计划用于设备购置与中试。" if report.state != R.DRAFT else "",
                    report.submitted_at,
                    report.decided_at,
                    decided_by,
                )
            )
            lines.extend((pk, category, amount, "") for category, amount in report.lines)
            report_events.extend(
                (pk, action, source, target, owner if by_owner else staff, at)
                for action, source, target, by_owner, at in report.events
            )
        report_id += len(story.reports)
        if story.acceptance:
            result, accepted_on = story.acceptance
            reasons = "里程碑均已完成，结题验收通过。" if result == "passed" else "主要里程碑未完成，结题验收不通过。"
            at = datetime.datetime.combine(accepted_on, datetime.time(15), tzinfo=datetime.UTC)
            acceptances.append((app, result, reasons, accepted_on, staff, at))
        if story.recovery:
            order = story.recovery
            orders.append(
                (
                    len(orders) + 1,
                    app,
                    order.reason,
                    "资金使用不符合资助协议约定。",
                    order.amount,
                    order.disbursed_when_opened,
                    order.recovered,
                    RecoveryOrder.State.COMPLETED if order.completed_at else RecoveryOrder.State.OPEN,
                    staff,
                    order.opened_at,
                    order.completed_at,
                )
            )
            repayments.extend((app, amount, paid_on) for amount, paid_on in order.repayments)
    copy = province.copy
    copy("funding_fundingagreement", ["id", "application_id", "amount", "purpose", "policy_id", "recorded_at",
         "recorded_by_id"], agreements)  # fmt: skip
    copy("funding_plannedinstalment", ["agreement_id", "number", "share", "amount"], planned)
    copy(
        "funding_disbursement",
        ["id", "application_id", "number", "amount", "paid_on", "reference", "recorded_by_id", "recorded_at",
         "released_by_report_id", "released_before_reports"],
        ((*row, False) for row in disbursements),
    )  # fmt: skip
    copy(
        "funding_fundusereport",
        ["id", "application_id", "instalment_id", "state", "due_on", "disbursed", "spent", "summary", "submitted_at",
         "decided_at", "decided_by_id"],
        reports,
    )  # fmt: skip
    copy("funding_expenseline", ["report_id", "category", "amount", "description"], lines)
    copy(
        "funding_fundusereportevent",
        ["report_id", "action", "from_state", "to_state", "by_id", "at", "comment"],
        ((*row, "") for row in report_events),
    )
    copy(
        "funding_finalacceptance",
        ["application_id", "result", "reasons", "accepted_on", "recorded_by_id", "recorded_at"],
        acceptances,
    )
    copy(
        "funding_recoveryorder",
        ["id", "application_id", "reason", "explanation", "amount", "disbursed_when_opened", "recovered", "state",
         "opened_by_id", "opened_at", "completed_at"],
        orders,
    )  # fmt: skip
    order_of = {row[1]: row[0] for row in orders}  # application id → its order's id
    copy(
        "funding_repayment",
        ["order_id", "amount", "paid_on", "reference", "recorded_by_id", "recorded_at"],
        (
            (order_of[app], amount, paid_on, f"REPAY-{app}-{k}", staff,
             datetime.datetime.combine(paid_on, datetime.time(11), tzinfo=datetime.UTC))
            for k, (app, amount, paid_on) in enumerate(repayments, start=1)
        ),
    )  # fmt: skip


def _budgets(venues, approvals: dict, counters: dict) -> dict:
    """One budget per sub-venue and year, 20% above what the generated grants' approvals reserved from it;
    the counters are what the grants hold now (the approvals less what recoveries released or brought back,
    the instalments paid, the repayments). Returns (venue id, year) → budget id."""
    zero = (Decimal(0),) * 3
    budgets = SubVenueBudget.objects.bulk_create(
        SubVenueBudget(
            sub_venue_id=venue.pk,
            year=year,
            amount=(approvals.get((venue.pk, year), Decimal(0)) * Decimal("1.2")).quantize(FEN),
            reserved=counters.get((venue.pk, year), zero)[0],
            disbursed=counters.get((venue.pk, year), zero)[1],
            recovered=counters.get((venue.pk, year), zero)[2],
        )
        for venue in venues
        for year in YEARS
    )
    return {(budget.sub_venue_id, budget.year): budget.pk for budget in budgets}
