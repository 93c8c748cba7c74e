import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from funding import services
from funding.demo import walk_to
from funding.models import SubVenueBudget
from valley import roles


@pytest.fixture
def people(make_user, applicant):
    """One user per role of the fund's workflow, keyed as funding.demo.walk_to expects."""
    serial = iter(range(500, 600))
    from teams.demo import demo_uscc

    return {
        "applicant": applicant,
        "reviewer": make_user(roles.REVIEWER, email="reviewer@example.cn"),
        "approver": make_user(roles.APPROVER, email="approver@example.cn"),
        "registration": make_user(roles.REGISTRATION_OFFICER, email="registration@example.cn"),
        "finance": make_user(roles.FINANCE_OFFICER, email="finance@example.cn"),
        "next_uscc": lambda: demo_uscc(next(serial)),
    }


@pytest.fixture
def sub_venue(db):
    from tests.factories import SubVenueFactory

    return SubVenueFactory(code="taiyuan-test")


@pytest.fixture
def budget(sub_venue):
    """A budget of 10,000,000 yuan this year for the sub-venue the resident entities live in."""
    return SubVenueBudget.objects.create(
        sub_venue=sub_venue, year=timezone.localdate().year, amount=Decimal("10000000")
    )


@pytest.fixture
def resident_entity(budget, applicant, residency_factory):
    """Makes an entity owned by `owner` (the applicant by default), resident in the budget's sub-venue."""

    def make(owner=None):
        residency = residency_factory(sub_venue=budget.sub_venue, entity__owner=owner or applicant)
        return residency.entity

    return make


@pytest.fixture
def application_in(resident_entity, people):
    """application_in("awaiting_decision") walks a new application there through the services."""

    def make(state, *, amount=Decimal("500000.00"), owner=None):
        entity = resident_entity(owner or people["applicant"])
        application = services.application_create(
            entity=entity, by=entity.owner, amount=amount, purpose="中试线建设", plan="建设中试线并注册公司。"
        )
        walk_to(application, state, {**people, "applicant": entity.owner})
        return type(application).objects.get(pk=application.pk)

    return make


@pytest.fixture
def yesterday():
    return timezone.localdate() - datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def _english_messages():
    # Service-level assertions read the English messages; pages choose their language per request.
    from django.utils import translation

    with translation.override("en"):
        yield
