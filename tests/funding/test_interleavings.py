"""Random interleavings of the fund's operations from several threads on PostgreSQL, then the invariants.

Hypothesis draws a plan: the state each of four entities' applications starts in (walked there through
the services), how much of a small budget is left, and for each of 3–4 threads a list of operations
(create, submit, withdraw, review, return, approve, reject, revoke, end the notice, verify the
registration, disburse, close) on those entities. The threads start together at a barrier, each on its
own database connection. A refusal (DomainError, with its message) is an expected outcome; any other
exception leaking out of a service fails the test, and after every plan funding.invariants must hold.

The run is derandomized (the same plans every time) so a failure reproduces. To search deeper:
VALLEY_HYPOTHESIS_EXAMPLES=200 python3 dev.py test tests/funding/test_interleavings.py -s
(random plans then; Hypothesis prints the failing plan and a blob to reproduce it).
"""

import collections
import datetime
import itertools
import os
import threading
import traceback
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funding import services
from funding.demo import walk_to
from funding.invariants import check_invariants
from funding.models import Application, SubVenueBudget
from teams.demo import demo_uscc
from valley.core import roles
from valley.core.errors import DomainError

pytestmark = pytest.mark.postgres
S = Application.State

ENTITIES = 4
EXAMPLES = int(os.environ.get("VALLEY_HYPOTHESIS_EXAMPLES", "20"))
# "step" takes the application's next step forward as the role for it would; the others compete with it.
# Repeated names weigh the draw (and Hypothesis simplifies towards the first).
OPERATIONS = (
    "step",
    "step",
    "step",
    "approve",
    "disburse",
    "withdraw",
    "create",
    "return",
    "reject",
    "revoke",
    "close",
    "submit",
    "review",
    "end_notice",
    "verify",
)
START_STATES = (
    S.AWAITING_DECISION,
    S.DISBURSEMENT,
    S.PUBLIC_NOTICE,
    S.REGISTRATION,
    S.DRAFT,
    None,
    S.SUBMITTED,
    S.FORMAL_REVIEW,
    S.EXPERT_REVIEW,
    S.CLOSED,
)
NEXT_STEP = {
    S.DRAFT: "submit",
    S.RETURNED: "submit",
    S.SUBMITTED: "review",
    S.FORMAL_REVIEW: "review",
    S.EXPERT_REVIEW: "review",
    S.AWAITING_DECISION: "approve",
    S.PUBLIC_NOTICE: "end_notice",
    S.REGISTRATION: "verify",
    S.DISBURSEMENT: "disburse",
}
# The refusal for a constraint the service did not expect: the database caught what the service's checks missed.
UNEXPECTED = "The change breaks a rule of the fund and was not saved."
AMOUNTS = (Decimal("300000.00"), Decimal("450000.00"), Decimal("500000.00"))
INSTALMENTS = (Decimal("100000.00"), Decimal("150000.00"), Decimal("250000.00"), Decimal("500000.00"))

operation = st.tuples(st.sampled_from(OPERATIONS), st.integers(0, ENTITIES - 1), st.integers(0, len(INSTALMENTS) - 1))
plans = st.fixed_dictionaries(
    {
        "start": st.lists(st.sampled_from(START_STATES), min_size=ENTITIES, max_size=ENTITIES),
        "amounts": st.lists(st.sampled_from(AMOUNTS), min_size=ENTITIES, max_size=ENTITIES),
        # What is left of the budget once the starting grants are reserved: room for none, one or two more.
        "room": st.sampled_from((Decimal("450000.00"), Decimal("0"), Decimal("1000000.00"))),
        "threads": st.lists(st.lists(operation, min_size=3, max_size=8), min_size=3, max_size=4),
    }
)
uscc_serial = itertools.count(700_000)


class Scenario:
    """One plan's world: a fresh sub-venue with its budget, entities with owners, and the staff."""

    def __init__(self, plan, *, make_user, residency_factory, staff):
        from tests.factories import SubVenueFactory

        self.staff = staff
        venue = SubVenueFactory()
        self.budget = SubVenueBudget.objects.create(
            sub_venue=venue, year=timezone.localdate().year, amount=Decimal("10000000.00")
        )
        self.entities, self.usccs = [], []
        for start, amount in zip(plan["start"], plan["amounts"], strict=True):
            owner = make_user(roles.APPLICANT)
            entity = residency_factory(sub_venue=venue, entity__owner=owner).entity
            self.entities.append(entity)
            self.usccs.append(demo_uscc(next(uscc_serial)))
            if start is not None:
                app = services.application_create(entity=entity, by=owner, amount=amount, purpose="中试", plan="计划")
                walk_to(app, start, {**staff[0], "applicant": owner, "next_uscc": lambda: demo_uscc(next(uscc_serial))})
        self.budget.refresh_from_db()
        SubVenueBudget.objects.filter(pk=self.budget.pk).update(amount=self.budget.reserved + plan["room"])

    def latest(self, index):
        return Application.objects.filter(entity=self.entities[index]).order_by("-pk").first()

    def resolve(self, name: str, index: int) -> str:
        """What "step" means for the entity's latest application now (a new application once it ended)."""
        if name != "step":
            return name
        app = self.latest(index)
        return NEXT_STEP.get(app.state, "create") if app else "create"

    def run(self, thread: int, name: str, index: int, choice: int) -> None:
        """Carry out one operation as a user in that role would; raises DomainError when refused."""
        entity, staff = self.entities[index], self.staff[thread % len(self.staff)]
        if name == "create":
            services.application_create(
                entity=entity, by=entity.owner, amount=AMOUNTS[choice % len(AMOUNTS)], purpose="中试", plan="计划"
            )
            return
        app = self.latest(index)
        if app is None:
            raise DomainError("no application yet")
        if name == "submit":
            services.application_submit(application=app, by=entity.owner)
        elif name == "withdraw":
            services.application_withdraw(application=app, by=entity.owner, comment="下一年度再申请。")
        elif name == "review":
            self._review(app, staff["reviewer"])
        elif name == "return":
            by = staff["reviewer"] if choice % 2 else staff["approver"]
            services.application_act(application=app, name="return_for_changes", by=by, comment="请补充预算明细。")
        elif name == "approve":
            services.application_approve(application=app, by=staff["approver"], comment="同意资助。")
        elif name == "reject":
            services.application_act(application=app, name="reject", by=staff["approver"], comment="暂不资助。")
        elif name == "revoke":
            services.application_revoke(application=app, by=staff["approver"], comment="公示期异议成立。")
        elif name == "end_notice":
            # The notice period passes (as walk_to does), then the portal moves the application on.
            yesterday = timezone.localdate() - datetime.timedelta(days=1)
            Application.objects.filter(pk=app.pk, state=S.PUBLIC_NOTICE).update(notice_ends_on=yesterday)
            services.application_end_notice(application=app, by=None)
        elif name == "verify":
            capital = app.amount * 2
            services.application_verify_registration(
                application=app,
                by=staff["registration"],
                company_name=f"{entity.name_zh}有限公司",
                uscc=self.usccs[index],
                registered_on=timezone.localdate(),
                registered_capital=capital,
                paid_in_capital=capital,
                legal_representative="王建国",
            )
        elif name == "disburse":
            services.application_disburse(
                application=app,
                by=staff["finance"],
                amount=INSTALMENTS[choice],
                paid_on=timezone.localdate(),
                reference=f"T{thread}-{app.pk}-{choice}",
            )
        elif name == "close":
            services.application_act(application=app, name="close", by=staff["finance"])

    @staticmethod
    def _review(app, reviewer) -> None:
        """The reviewer's next step, whichever the application waits for (the service re-checks under lock)."""
        if app.state == S.SUBMITTED:
            services.application_act(application=app, name="start_formal_review", by=reviewer)
        elif app.state == S.FORMAL_REVIEW:
            services.application_act(application=app, name="pass_formal_review", by=reviewer)
        else:
            review = services.review_assign(application=app, reviewer=reviewer, by=reviewer)
            services.review_submit(review=review, by=reviewer, score=80, recommendation="approve", opinion="可行。")
            services.application_act(application=app, name="complete_expert_review", by=reviewer)


def run_threads(scenario: Scenario, threads: list[list[tuple]]):
    """Each thread runs its operations in order; all start together. Returns (outcomes, unexpected errors)."""
    barrier = threading.Barrier(len(threads))
    outcomes: list[tuple[str, str]] = []
    errors: list[str] = []

    def worker(number, operations):
        translation.activate("en")
        try:
            barrier.wait(timeout=60)
            for drawn, index, choice in operations:
                name = scenario.resolve(drawn, index)
                try:
                    scenario.run(number, name, index, choice)
                except DomainError as refusal:
                    if refusal.message == UNEXPECTED:
                        errors.append(f"thread {number}, {name} on entity {index}: refused by a database guard")
                    outcomes.append((name, f"refused: {refusal.message}"))
                except Exception:
                    errors.append(f"thread {number}, {name} on entity {index}:\n{traceback.format_exc()}")
                else:
                    outcomes.append((name, "ok"))
        finally:
            connection.close()

    workers = [threading.Thread(target=worker, args=(n, ops)) for n, ops in enumerate(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in workers), "a thread hung (a lock never released?)"
    return outcomes, errors


def test_random_interleavings_keep_the_invariants(transactional_db, people, make_user, residency_factory):
    second_staff = {
        "reviewer": make_user(roles.REVIEWER),
        "approver": make_user(roles.APPROVER),
        "registration": make_user(roles.REGISTRATION_OFFICER),
        "finance": make_user(roles.FINANCE_OFFICER),
    }
    staff = [people, second_staff]
    tally: collections.Counter = collections.Counter()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize="VALLEY_HYPOTHESIS_EXAMPLES" not in os.environ,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(plan=plans)
    def interleave(plan):
        scenario = Scenario(plan, make_user=make_user, residency_factory=residency_factory, staff=staff)
        outcomes, errors = run_threads(scenario, plan["threads"])
        assert not errors, "a service let an exception through instead of refusing:\n" + "\n".join(errors)
        report = check_invariants()
        assert report.ok, "\n".join(str(v) for v in report.violations)
        tally.update(f"{name} {'ok' if outcome == 'ok' else 'refused'}" for name, outcome in outcomes)

    interleave()

    print("\n".join(f"{key}: {count}" for key, count in sorted(tally.items())))
    # The plans must reach the money: approvals and instalments that went through, and some refused.
    for name in ("create", "submit", "approve", "disburse", "verify"):
        assert tally[f"{name} ok"] > 0, f"no {name} went through in {EXAMPLES} plans: {tally}"
    assert tally["approve refused"] + tally["disburse refused"] > 0
