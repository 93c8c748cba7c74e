"""generate_province at --size small: consistent data, a valid audit chain, and pages that read it."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import models
from django.db.models import Count, Q, Sum
from django.urls import reverse

from funding.invariants import check_invariants
from funding.models import (
    Application,
    ApplicationEvent,
    Disbursement,
    ExpenseLine,
    FinalAcceptance,
    FundingAgreement,
    FundUseReport,
    PlannedInstalment,
    RecoveryOrder,
    Repayment,
    SubVenueBudget,
)
from teams.models import Entity
from teams.service_models import ServiceRequest, ServiceRequestEvent, ServiceRequestMessage
from tolerance.models import Investment
from valley.audit import verify_chain
from valley.core import roles
from valley.management.commands.generate_province import SIZES
from valley.models import AuditEntry, ServiceLine, SubVenue, User

SMALL = SIZES["small"]
S = Application.State


@pytest.fixture
def province(transactional_db):
    call_command("generate_province", "--size", "small", "--seed", "7", stdout=io.StringIO())


@pytest.mark.postgres
def test_small_province_has_the_sizes_asked_for(province):
    assert Entity.objects.count() == SMALL["entities"]
    assert Application.objects.count() == SMALL["applications"]
    assert Investment.objects.count() == SMALL["investments"]
    # The history is padded to its share; a few rows short at most (drafts have none to spare).
    assert SMALL["history"] * 0.95 <= ApplicationEvent.objects.count() <= SMALL["history"]
    assert AuditEntry.objects.count() >= SMALL["audit"]
    states = set(Application.objects.values_list("state", flat=True))
    assert states == set(Application.State.values), "every state of the workflow is represented"


@pytest.mark.postgres
def test_generated_money_is_consistent(province):
    """Budgets reserve exactly what the grants approved, less what recoveries released or brought back, and
    record what the instalments paid and the repayments returned; every invariant of the fund holds."""
    for budget in SubVenueBudget.objects.all():
        granted = Application.objects.filter(budget=budget).aggregate(
            approved=Sum("approved_amount"),
            released=Sum("reserve_released"),
            recovered=Sum("recovered_total"),
            paid=Sum("disbursed_total"),
        )
        assert budget.reserved == granted["approved"] - granted["released"] - granted["recovered"]
        assert budget.disbursed == granted["paid"]
        assert budget.recovered == granted["recovered"]
        assert budget.reserved <= budget.amount
    paid = Disbursement.objects.aggregate(total=Sum("amount"))["total"]
    assert paid == Application.objects.aggregate(total=Sum("disbursed_total"))["total"]
    open_per_entity = Entity.objects.annotate(
        open=Count("fund_applications", filter=~Q(fund_applications__state__in=Application.ENDED_STATES))
    ).aggregate(most=Sum("open"))
    assert open_per_entity["most"] <= Entity.objects.count()
    report = check_invariants(audit=False)
    assert report.ok, [str(violation) for violation in report.violations[:10]]


@pytest.mark.postgres
def test_generated_grants_have_their_life_after_the_money(province):
    """Every grant whose registration was verified has its agreement and plan; the province holds reports in
    every state, passed and failed acceptances, open and completed recoveries."""
    verified = Application.objects.filter(state__in=[S.DISBURSEMENT, S.RECOVERY, S.CLOSED])
    assert FundingAgreement.objects.count() == verified.count() > 0
    assert not verified.filter(agreement__isnull=True).exists()
    assert PlannedInstalment.objects.count() == 3 * verified.count()
    assert set(FundUseReport.objects.values_list("state", flat=True)) == set(FundUseReport.State.values)
    assert set(FinalAcceptance.objects.values_list("result", flat=True)) == {"passed", "failed"}
    assert set(RecoveryOrder.objects.values_list("state", flat=True)) == {"open", "completed"}
    assert Repayment.objects.exists() and ExpenseLine.objects.exists()
    # Closed grants: paid in full after a passed acceptance, or closed by a completed recovery.
    for app in Application.objects.filter(state=S.CLOSED).select_related("final_acceptance", "recovery")[:200]:
        recovery = getattr(app, "recovery", None)
        if recovery is None:
            assert app.disbursed_total == app.approved_amount and app.final_acceptance.result == "passed"
        else:
            assert recovery.state == "completed" and app.recovered_total == recovery.amount


@pytest.mark.postgres
def test_generated_service_requests_cover_every_line_sub_venue_and_state(province):
    """The service system at scale: every line has requests from every sub-venue, every state is there with
    the fields its step sets, each request's history starts with its submission, some carry messages."""
    requests = ServiceRequest.objects.all()
    assert requests.count() == SMALL["service_requests"]
    assert set(requests.values_list("state", flat=True)) == set(ServiceRequest.State.values)
    pairs = set(requests.values_list("line__code", "sub_venue_id"))
    assert len(pairs) == ServiceLine.objects.count() * SubVenue.objects.count() == 4 * SMALL["sub_venues"]
    assert not requests.exclude(sub_venue__residencies__entity=models.F("entity")).exists()
    assert not requests.exclude(applicant=models.F("entity__owner")).exists()
    assert not requests.filter(state=ServiceRequest.State.REJECTED, rejection_reason="").exists()
    assert not requests.filter(state=ServiceRequest.State.CLOSED, closed_at__isnull=True).exists()
    assert requests.filter(rating__isnull=False).exists()
    assert (
        not requests.exclude(state__in=[ServiceRequest.State.SUBMITTED, ServiceRequest.State.REJECTED])
        .filter(handler__isnull=True)
        .exists()
    )
    submitted = ServiceRequestEvent.objects.filter(action="teams.service_request.submitted")
    assert submitted.count() == SMALL["service_requests"]
    # The last step of each request's history leaves it in the state it is in.
    for req in requests.prefetch_related("events")[:300]:
        assert list(req.events.all())[-1].to_state == req.state
    with_messages = requests.filter(messages__isnull=False).distinct().count()
    assert 0 < with_messages < SMALL["service_requests"]
    assert ServiceRequestMessage.objects.filter(from_staff=True).exists()
    assert ServiceRequestMessage.objects.filter(from_staff=False).exists()


@pytest.mark.postgres
def test_generated_service_line_staff_work_their_line(province, client):
    for line in ServiceLine.objects.all():
        staff = User.objects.get(email=f"service-{line.code}@scale.valley.example.cn")
        assert roles.has_role(staff, roles.SERVICE_LINE_STAFF)
        assert list(staff.service_lines.all()) == [line]
    line = ServiceLine.objects.get(code="finance")
    client.force_login(User.objects.get(email="service-finance@scale.valley.example.cn"))
    page = client.get(reverse("teams:service_queue"))
    assert page.status_code == 200
    shown = page.context["page"].object_list
    assert len(shown) == 20 and {req.line_id for req in shown} == {line.pk}
    assert page.context["page"].paginator.count == ServiceRequest.objects.filter(line=line).count()


@pytest.mark.postgres
def test_generated_audit_log_verifies(province):
    check = verify_chain()
    assert check.ok, check.problem
    assert check.entries == AuditEntry.objects.count()


@pytest.mark.postgres
def test_same_seed_gives_the_same_data(province):
    first = list(Application.objects.order_by("pk").values_list("state", "amount", "approved_amount"))
    call_command("generate_province", "--size", "small", "--seed", "7", "--replace", stdout=io.StringIO())
    assert list(Application.objects.order_by("pk").values_list("state", "amount", "approved_amount")) == first


@pytest.mark.postgres
def test_replace_also_removes_what_points_at_the_generated_logins(province):
    """A benchmark's signed-in session leaves a TOTP device (and maybe a token) on a generated login."""
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from rest_framework.authtoken.models import Token

    staff = User.objects.get(email__startswith="staff@")
    TOTPDevice.objects.create(user=staff, name="bench", confirmed=True)
    Token.objects.create(user=staff)
    call_command("generate_province", "--size", "small", "--seed", "7", "--replace", stdout=io.StringIO())
    assert Entity.objects.count() == SMALL["entities"]
    assert not TOTPDevice.objects.filter(name="bench").exists()
    assert not Token.objects.exists()


@pytest.mark.postgres
def test_refuses_to_add_to_existing_data_without_replace(province):
    with pytest.raises(CommandError, match="--replace"):
        call_command("generate_province", "--size", "small")


@pytest.mark.postgres
def test_generated_logins_reach_their_pages(province, client):
    staff = User.objects.get(email="staff@scale.valley.example.cn")
    client.force_login(staff)
    for name in ("admin:funding_application_changelist", "admin:tolerance_investment_changelist"):
        assert client.get(reverse(name)).status_code == 200
    applicant = User.objects.get(email="applicant00000@scale.valley.example.cn")
    application = Application.objects.filter(entity__owner=applicant).first()
    client.force_login(applicant)
    assert client.get(reverse("funding:detail", args=[application.pk])).status_code == 200
    request = ServiceRequest.objects.filter(applicant=applicant, messages__isnull=False).first()
    page = client.get(reverse("teams:service_request_detail", args=[request.pk]))
    assert page.status_code == 200
    assert request.subject in page.content.decode() and "材料已补充" in page.content.decode()
