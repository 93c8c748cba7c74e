"""The demo valley's grants: every step of the life after the money, each reached through the services."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from funding import services
from funding.demo import DEMO_PREFIX, DEMO_STATES
from funding.invariants import check_invariants
from funding.models import Application, FinalAcceptance, FundUseReport, RecoveryOrder
from valley.models import AuditEntry

S = Application.State
R = FundUseReport.State


@pytest.fixture
def seeded(db, settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)


def test_the_demo_has_a_grant_at_every_step_after_the_money(seeded):
    today = timezone.localdate()
    demo = Application.objects.filter(purpose__startswith=DEMO_PREFIX)
    assert set(demo.values_list("state", flat=True)) == set(DEMO_STATES)
    paying = FundUseReport.objects.filter(application__in=demo, application__state=S.DISBURSEMENT)

    assert paying.filter(state=R.DRAFT, due_on__gt=today).exists(), "a report to be filed, not yet due"
    assert paying.filter(state=R.SUBMITTED).exists(), "a report waiting for review"
    assert paying.filter(state=R.RETURNED).exists(), "a report returned for changes"
    overdue = paying.get(state=R.DRAFT, due_on__lt=today)
    back_dated = AuditEntry.objects.get(
        action="funding.fund_use_report.changed", object_id=str(overdue.pk), after__reason="demo data"
    )
    assert back_dated.after["due_on"] == overdue.due_on.isoformat()
    # Accepted: finance may release the next instalment now.
    ready = paying.get(state=R.ACCEPTED)
    assert services.release_problem(ready.application)[0] is None

    closed = demo.get(state=S.CLOSED)
    assert closed.final_acceptance.result == FinalAcceptance.Result.PASSED
    assert closed.disbursed_total == closed.approved_amount == sum(d.amount for d in closed.disbursements.all())

    order = RecoveryOrder.objects.get(application__in=demo, application__state=S.RECOVERY)
    assert 0 < order.recovered < order.amount and order.state == RecoveryOrder.State.OPEN
    assert order.application.budget.recovered == order.recovered

    report = check_invariants()
    assert report.ok, report.violations
    assert report.checked["releases_follow_reports"] >= 2 and report.checked["recovery_matches_repayments"] == 1
