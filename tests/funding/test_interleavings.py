"""Random interleavings of the fund's operations from several threads on PostgreSQL, then the invariants.

Hypothesis draws a plan: the state each of four entities' applications starts in (walked there through
the services), how much of a small budget is left, and for each of 3–4 threads a list of operations
(create, submit, withdraw, review, return, approve, reject, revoke, end the notice, verify the
registration, release the next instalment, close; and after the grant: file and submit the open fund-use
report, accept or return it, record the final acceptance, open a recovery, repay) on those entities. The
threads start together at a barrier, each on its own database connection. A refusal (DomainError, with its
message) is an expected outcome; any other exception leaking out of a service fails the test, and after
every plan funding.invariants must hold, and every fund-use report's history must be one path to its state.
Besides the drawn plans, every run tries AFTER_THE_GRANT_PLANS, in which each step after the grant is raced.

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
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone, translation
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from funding import post_award, services
from funding.demo import DEMO_PDF, file_report, walk_to
from funding.invariants import check_invariants
from funding.models import Application, FundUseReport, FundUseReportEvent, RecoveryOrder, SubVenueBudget
from funding.workflow import REPORT_WORKFLOW
from teams.demo import demo_uscc
from valley.core import roles
from valley.core.errors import DomainError

pytestmark = pytest.mark.postgres
S = Application.State

ENTITIES = 4
# 16 drawn plans of 3–4 threads × 4–10 operations (and AFTER_THE_GRANT_PLANS): about as many operations as 20
# plans of 3–8 had before the steps after the grant joined them, in about the same time (a plan that starts
# after the first instalment takes longer to set up).
EXAMPLES = int(os.environ.get("VALLEY_HYPOTHESIS_EXAMPLES", "16"))
# "step" takes the application's next step forward as the role for it would; the others compete with it.
# Repeated names weigh the draw (and Hypothesis simplifies towards the first).
OPERATIONS = (
    "step",
    "step",
    "step",
    "step",
    "step",
    "approve",
    "disburse",
    "file_report",
    "accept_report",
    "withdraw",
    "create",
    "return_report",
    "recover",
    "repay",
    "acceptance",
    "return",
    "reject",
    "revoke",
    "close",
    "submit",
    "review",
    "end_notice",
    "verify",
)
# A state of the workflow, a point while the grant is paid out (AFTER_THE_GRANT: beyond its first instalment),
# or None: no application yet.
START_STATES = (
    S.AWAITING_DECISION,
    S.DISBURSEMENT,
    "report_submitted",
    S.PUBLIC_NOTICE,
    S.REGISTRATION,
    "acceptance_due",
    S.DRAFT,
    None,
    "report_accepted",
    S.SUBMITTED,
    S.RECOVERY,
    S.FORMAL_REVIEW,
    "report_returned",
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
    S.DISBURSEMENT: "disburse",  # or a step of the reports and the final acceptance first (Scenario.resolve)
    S.RECOVERY: "repay",
}
# The refusal for a constraint the service did not expect: the database caught what the service's checks missed.
UNEXPECTED = "The change breaks a rule of the fund and was not saved."
AMOUNTS = (Decimal("300000.00"), Decimal("450000.00"), Decimal("500000.00"))
# An operation's `choice` (0–3) picks a variant: the amount named with a release (0: 100,000, right only for
# instalment 1 of 500,000; else the plan's), the share of the disbursed money a report spends or a recovery
# claims (SHARES: more than all of it is refused), the part of what is outstanding a repayment brings,
# whether the final acceptance passes (3: failed), who acts.
NAMED_INSTALMENT = Decimal("100000.00")
SHARES = (Decimal("1"), Decimal("0.6"), Decimal("0.25"), Decimal("1.2"))
CENT = Decimal("0.01")

operation = st.tuples(st.sampled_from(OPERATIONS), st.integers(0, ENTITIES - 1), st.integers(0, len(SHARES) - 1))
plans = st.fixed_dictionaries(
    {
        "start": st.lists(st.sampled_from(START_STATES), min_size=ENTITIES, max_size=ENTITIES),
        "amounts": st.lists(st.sampled_from(AMOUNTS), min_size=ENTITIES, max_size=ENTITIES),
        # What is left of the budget once the starting grants are reserved: room for none, one or two more.
        "room": st.sampled_from((Decimal("450000.00"), Decimal("0"), Decimal("1000000.00"))),
        "threads": st.lists(st.lists(operation, min_size=4, max_size=10), min_size=3, max_size=4),
    }
)
# Plans that every run tries besides the drawn ones, so that each step after the grant goes through at least once
# while others compete for it (whichever thread comes first): one report filed twice at once, a report accepted
# and returned at once, two releases of one instalment, a passed and a failed final acceptance at once; then two
# recoveries opened at once, two repayments on one order, a release racing a recovery, a report returned twice.
AFTER_THE_GRANT_PLANS = (
    {
        "start": [S.DISBURSEMENT, "report_submitted", "report_accepted", "acceptance_due"],
        "amounts": [AMOUNTS[2]] * ENTITIES,
        "room": Decimal("0"),
        "threads": [
            [("file_report", 0, 0), ("accept_report", 1, 0), ("disburse", 2, 1), ("acceptance", 3, 0)],
            [("file_report", 0, 1), ("return_report", 1, 0), ("disburse", 2, 2), ("acceptance", 3, 3)],
            [("step", 0, 0), ("step", 1, 3), ("step", 2, 0), ("step", 3, 0)],
        ],
    },
    {
        "start": [S.DISBURSEMENT, S.RECOVERY, "report_accepted", "report_submitted"],
        "amounts": [AMOUNTS[0], AMOUNTS[1], AMOUNTS[2], AMOUNTS[0]],
        "room": Decimal("0"),
        "threads": [
            [("recover", 0, 1), ("repay", 1, 1), ("recover", 2, 0), ("return_report", 3, 0)],
            [("recover", 0, 2), ("repay", 1, 0), ("disburse", 2, 1), ("return_report", 3, 1)],
            [("disburse", 0, 1), ("step", 1, 0), ("step", 2, 0), ("repay", 0, 0)],
        ],
    },
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
                people = {**staff[0], "applicant": owner, "next_uscc": lambda: demo_uscc(next(uscc_serial))}
                walk_to(app, S.DISBURSEMENT if start in AFTER_THE_GRANT else start, people)
                if start in AFTER_THE_GRANT:
                    AFTER_THE_GRANT[start](Application.objects.get(pk=app.pk), people)
        self.budget.refresh_from_db()
        SubVenueBudget.objects.filter(pk=self.budget.pk).update(amount=self.budget.reserved + plan["room"])

    def latest(self, index):
        return Application.objects.filter(entity=self.entities[index]).order_by("-pk").first()

    def resolve(self, name: str, index: int, choice: int) -> str:
        """What "step" means for the entity's latest application now (a new application once it ended)."""
        if name != "step":
            return name
        app = self.latest(index)
        if app is None:
            return "create"
        if app.state == S.DISBURSEMENT:
            return self._post_award_step(app, choice)
        return NEXT_STEP.get(app.state, "create")

    @staticmethod
    def _post_award_step(app, choice: int) -> str:
        """While the grant is paid out: the open report first (filed, then accepted or, with choice 3, returned),
        then the next instalment, the final acceptance before the last one, and a recovery after it failed."""
        report = open_report(app)
        if report is not None:
            if report.state != FundUseReport.State.SUBMITTED:
                return "file_report"
            return "return_report" if choice == 3 else "accept_report"
        planned, paid = app.agreement.instalments.count(), app.disbursements.count()
        if paid < planned - 1:
            return "disburse"
        acceptance = getattr(app, "final_acceptance", None)
        if acceptance is None:
            return "acceptance"
        return "disburse" if acceptance.result == acceptance.Result.PASSED else "recover"

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
                amount=NAMED_INSTALMENT if choice == 0 else None,
                paid_on=timezone.localdate(),
                reference=f"T{thread}-{app.pk}-{choice}",
            )
        elif name == "close":
            services.application_act(application=app, name="close", by=staff["finance"])
        elif name in ("file_report", "accept_report", "return_report"):
            report = open_report(app)
            if report is None:
                raise DomainError("no open fund-use report")
            if name == "file_report":
                self._file(report, entity.owner, SHARES[choice])
            elif name == "accept_report":
                post_award.report_accept(report=report, by=staff["finance"], comment="已核实。")
            else:
                post_award.report_return(report=report, by=staff["finance"], comment="请补充发票。")
        elif name == "acceptance":
            post_award.acceptance_record(
                application=app,
                by=staff["approver"] if choice % 2 else staff["reviewer"],
                result="failed" if choice == 3 else "passed",
                reasons="验收意见。",
                accepted_on=timezone.localdate(),
            )
        elif name == "recover":
            post_award.recovery_open(
                application=app,
                by=staff["approver"] if choice % 2 else staff["finance"],
                reason=("misuse", "fraud", "failed_acceptance")[choice % 3],
                explanation="追回。",
                amount=(app.disbursed_total * SHARES[choice]).quantize(CENT),
            )
        elif name == "repay":
            order = RecoveryOrder.objects.filter(application=app).first()
            if order is None:
                raise DomainError("no recovery order")
            post_award.recovery_repay(
                application=app,
                by=staff["finance"],
                amount=order.outstanding if choice % 2 == 0 else (order.outstanding / 2).quantize(CENT),
                paid_on=timezone.localdate(),
                reference=f"R{thread}-{app.pk}-{choice}",
            )

    @staticmethod
    def _file(report, owner, share) -> None:
        """The grant holder files the report: `share` of the disbursed money spent on two lines, an invoice
        attached (once), then submitted. What was read before may be stale: the services re-check it."""
        spent = (report.disbursed * share).quantize(CENT)
        equipment = (spent * Decimal("0.6")).quantize(CENT)
        post_award.report_save(
            report=report,
            by=owner,
            spent=spent,
            summary="按计划使用。",
            lines=[
                {"category": "equipment", "amount": equipment},
                {"category": "testing", "amount": spent - equipment},
            ],
        )
        if not report.documents.exists():
            upload = SimpleUploadedFile("invoice.pdf", DEMO_PDF, content_type="application/pdf")
            post_award.report_attach_document(report=report, by=owner, title="发票", upload=upload)
        post_award.report_submit(report=report, by=owner)

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


def _acceptance_due(app, people) -> None:
    """Instalment 2 paid and the report on it accepted: the final acceptance comes next."""
    file_report(app, people, accept=True)
    services.application_disburse(application=app, by=people["finance"], paid_on=timezone.localdate(), reference="S2")
    file_report(Application.objects.get(pk=app.pk), people, accept=True)


# Where a grant being paid out may start, beyond its first instalment (walk_to takes it that far).
AFTER_THE_GRANT = {
    "report_submitted": lambda app, people: file_report(app, people),
    "report_returned": lambda app, people: post_award.report_return(
        report=file_report(app, people), by=people["finance"], comment="请补充合同。"
    ),
    "report_accepted": lambda app, people: file_report(app, people, accept=True),
    "acceptance_due": _acceptance_due,
}


def open_report(app) -> FundUseReport | None:
    """The application's fund-use report still to be accepted (there is at most one at a time)."""
    return app.fund_use_reports.exclude(state=FundUseReport.State.ACCEPTED).order_by("pk").first()


def report_history_problems() -> list[str]:
    """Every report's history is one path along REPORT_WORKFLOW from "to be filed" to the state it is in (rows
    that change nothing, such as an attached document, aside). funding.invariants checks the applications'."""
    moves = {(source, t.target) for t in REPORT_WORKFLOW.transitions.values() for source in t.sources}
    events = collections.defaultdict(list)
    for report_id, source, target in FundUseReportEvent.objects.order_by("at", "pk").values_list(
        "report_id", "from_state", "to_state"
    ):
        if source != target:
            events[report_id].append((source, target))
    problems = []
    for report_id, state in FundUseReport.objects.values_list("pk", "state"):
        path = events.get(report_id, [])
        reached = REPORT_WORKFLOW.initial
        for source, target in path:
            if source != reached or (source, target) not in moves:
                problems.append(f"report {report_id}: {source} → {target} after reaching {reached}")
            reached = target
        if reached != state:
            problems.append(f"report {report_id} is {state}, its history reaches {reached}")
    return problems


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
                name = scenario.resolve(drawn, index, choice)
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


def test_random_interleavings_keep_the_invariants(transactional_db, people, make_user, residency_factory, media_root):
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
    @example(plan=AFTER_THE_GRANT_PLANS[0])
    @example(plan=AFTER_THE_GRANT_PLANS[1])
    def interleave(plan):
        scenario = Scenario(plan, make_user=make_user, residency_factory=residency_factory, staff=staff)
        outcomes, errors = run_threads(scenario, plan["threads"])
        assert not errors, "a service let an exception through instead of refusing:\n" + "\n".join(errors)
        report = check_invariants()
        assert report.ok, "\n".join(str(v) for v in report.violations)
        problems = report_history_problems()
        assert not problems, "\n".join(problems)
        tally.update(f"{name} {'ok' if outcome == 'ok' else 'refused'}" for name, outcome in outcomes)

    interleave()

    print("\n".join(f"{key}: {count}" for key, count in sorted(tally.items())))
    # The plans must reach the money and what follows it: approvals, instalments, reports, acceptances and
    # recoveries that went through, and some refused.
    for name in (
        "create",
        "submit",
        "approve",
        "verify",
        "disburse",
        "file_report",
        "accept_report",
        "return_report",
        "acceptance",
        "recover",
        "repay",
    ):
        assert tally[f"{name} ok"] > 0, f"no {name} went through in {EXAMPLES} plans and the explicit ones: {tally}"
    assert tally["approve refused"] + tally["disburse refused"] > 0
