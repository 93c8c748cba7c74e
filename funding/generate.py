"""The start-up fund's part of the province generator (valley.ops.generator): applications in every state
with their history, one budget per sub-venue and year, and the instalments paid.

Every application's history is a walk of funding.workflow.WORKFLOW from a draft to its state, padded with
rounds of "returned for changes, submitted again" so the rows add up to the size asked for. Every database
rule holds for the generated rows: one open application and one grant per entity, granted applications
reserve from their sub-venue's budget, which is never overspent, and instalments stay within the approved
amount.
"""

import datetime
from decimal import Decimal

from django.db import connection

from funding.models import Application, FundPolicy, SubVenueBudget
from funding.workflow import BEFORE_DECISION, WORKFLOW, history_action
from valley.ops.generator import Province

S = Application.State
YEARS = (2024, 2025)
# The policy snapshot every generated application carries: the defaults of DOMAIN.md, the policy a fresh
# database starts with.
POLICY = (Decimal("300000.00"), Decimal("1000000.00"), Decimal("0.500"))

# The states an application is generated in. The random draws pick from these tuples by position, so their
# order is part of what a seed gives.
ENDED = tuple(state for state in Application.ENDED_STATES if state not in Application.GRANTED_STATES)
OPEN_BEFORE_DECISION = BEFORE_DECISION
OPEN_GRANTED = tuple(state for state in Application.GRANTED_STATES if state not in Application.ENDED_STATES)

# Where a generated history passes on its way to these states: a withdrawal after the submission and a
# rejection at the decision, the usual ways (the shortest ones, straight from a draft and at the formal
# review, are possible too but rarer).
VIA = {S.WITHDRAWN: S.SUBMITTED, S.REJECTED: S.AWAITING_DECISION}

Step = tuple[str, str, str]  # (action code, from state, to state): one history row


def _steps(transitions, source: str) -> list[Step]:
    """The history rows of a walk; a record leaves a state only after taking the state's own loops (the
    instalments are paid before the application closes)."""
    loops = {t.target: t for t in WORKFLOW.transitions.values() if t.sources == (t.target,)}
    steps = []
    for transition in transitions:
        if source in loops and transition.target != source:
            steps.append((history_action(loops[source].name), source, source))
        steps.append((history_action(transition.name), source, transition.target))
        source = transition.target
    return steps


def path_to(state: str) -> list[Step]:
    """The history rows that lead from a draft to `state` (the creation row not included)."""
    via = VIA.get(state)
    if via is None:
        return _steps(WORKFLOW.path_to(state), WORKFLOW.initial)
    return _steps([*WORKFLOW.path_to(via), *WORKFLOW.path_to(state, start=via)], WORKFLOW.initial)


# One round of changes asked and made, from the formal review back to it.
LOOP = _steps(
    [*WORKFLOW.path_to(S.RETURNED, start=S.FORMAL_REVIEW), *WORKFLOW.path_to(S.FORMAL_REVIEW, start=S.RETURNED)],
    S.FORMAL_REVIEW,
)


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
    events_per_app = history / n
    reserved: dict = {}
    drawn: dict = {}  # disbursed per budget
    produced = 0
    rows, events, instalments = [], [], []
    min_amount, max_amount, share = POLICY
    for number, (entity, venue, year, state) in enumerate(plans, start=1):
        created = province.at((year - 2024) * 365 + rnd.uniform(0, 330))
        amount = Decimal(rnd.randrange(300, 1001) * 1000)
        granted = state in Application.GRANTED_STATES
        approved = amount - Decimal(rnd.randrange(0, 3) * 10000) if granted else None
        approved = max(approved, min_amount) if approved is not None else None
        if granted:
            reserved[(venue, year)] = reserved.get((venue, year), Decimal(0)) + approved
        verified = state in (S.DISBURSEMENT, S.CLOSED)
        disbursed = approved if state == S.CLOSED else (approved / 2 if state == S.DISBURSEMENT else Decimal(0))
        disbursed = disbursed.quantize(Decimal("0.01"))
        if disbursed:
            drawn[(venue, year)] = drawn.get((venue, year), Decimal(0)) + disbursed
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
                disbursed,
            ]
        )
        if disbursed:
            instalments.append((number, 1, disbursed, (created + datetime.timedelta(days=80)).date()))
        path = paths[state]
        # Pad the history with rounds of changes asked and made, inserted once the path reaches the formal
        # review, so the rows add up to `history`. A short history (a draft, a withdrawal) leaves its share
        # to the next application.
        want = int(events_per_app * number) - produced
        reach = next((i + 1 for i, (_a, _s, target) in enumerate(path) if target == S.FORMAL_REVIEW), None)
        if reach is None:
            loops, reach = 0, len(path)
        else:
            loops = max(0, (want - len(path) - 1) // len(LOOP))
        steps = [(f"{WORKFLOW.name}.created", "", WORKFLOW.initial), *path[:reach], *LOOP * loops, *path[reach:]]
        produced += len(steps)
        for offset, (action, source, target) in enumerate(steps):
            events.append((number, action, source, target, created + datetime.timedelta(hours=offset + 1)))

    budget_ids = _budgets(made["venues"], reserved, drawn)
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
    ]
    province.copy("funding_application", columns, rows)
    staff = staff_user.pk
    province.copy(
        "funding_applicationevent",
        ["application_id", "action", "from_state", "to_state", "by_id", "at", "comment", "internal_note"],
        (
            (app, action, source, target, staff, at, "材料齐全，进入下一环节", "")
            for app, action, source, target, at in events
        ),
    )
    paid_at = province.at(500)
    province.copy(
        "funding_disbursement",
        ["application_id", "number", "amount", "paid_on", "reference", "recorded_by_id", "recorded_at"],
        ((app, no, amount, paid, f"PAY-{app}-{no}", staff, paid_at) for app, no, amount, paid in instalments),
    )
    with connection.cursor() as cursor:
        for table in ("funding_application", "funding_applicationevent", "funding_disbursement"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")  # noqa: S608
    made["application_count"] = len(rows)


def _budgets(venues, reserved: dict, disbursed: dict) -> dict:
    """One budget per sub-venue and year, 20% above what the generated grants reserve from it; the
    counters are the sums of the generated approvals and instalments. Returns (venue id, year) → budget id."""
    budgets = SubVenueBudget.objects.bulk_create(
        SubVenueBudget(
            sub_venue_id=venue.pk,
            year=year,
            amount=(reserved.get((venue.pk, year), Decimal(0)) * Decimal("1.2")).quantize(Decimal("0.01")),
            reserved=reserved.get((venue.pk, year), Decimal(0)),
            disbursed=disbursed.get((venue.pk, year), Decimal(0)),
        )
        for venue in venues
        for year in YEARS
    )
    return {(budget.sub_venue_id, budget.year): budget.pk for budget in budgets}
