"""The fund's conditions (funding.selectors.eligibility) are what the guide's pre-check shows and what
application_create / application_submit refuse with: one function, so they cannot disagree."""

from decimal import Decimal

import pytest

from funding import selectors, services
from funding.services import FundingError
from teams.models import Entity, Residency
from tests.factories import EntityFactory, ResidencyFactory, SubVenueFactory


def _entity_conditions(entity):
    found = selectors.eligibility(user=entity.owner, entities=Entity.objects.filter(pk=entity.pk))
    return {condition.code: condition for condition in found[entity]}


def _draft(entity):
    return services.application_create(
        entity=entity, by=entity.owner, amount=Decimal("500000.00"), purpose="中试", plan="建设中试线。"
    )


@pytest.fixture
def budgeted_venue(db):
    from django.utils import timezone

    from funding.models import SubVenueBudget

    venue = SubVenueFactory()
    SubVenueBudget.objects.create(sub_venue=venue, year=timezone.localdate().year, amount=Decimal("10000000"))
    return venue


def test_a_non_resident_entity_is_refused_with_the_precheck_s_words(applicant, budgeted_venue):
    entity = EntityFactory(owner=applicant)
    draft = _draft(entity)
    conditions = _entity_conditions(entity)
    assert not conditions["resident"].met
    with pytest.raises(FundingError) as refused:
        services.application_submit(application=draft, by=applicant)
    assert refused.value.message == conditions["resident"].problem


def test_a_resident_entity_meets_every_condition_and_may_submit(applicant, budgeted_venue):
    entity = ResidencyFactory(entity__owner=applicant, sub_venue=budgeted_venue).entity
    draft = _draft(entity)
    # Its own draft is "open", but not "another open application" when it is the one submitted.
    found = selectors.eligibility(
        user=applicant, entities=Entity.objects.filter(pk=entity.pk), exclude_application=draft.pk
    )
    assert all(condition.met for condition in found[entity])
    assert services.application_submit(application=draft, by=applicant).state == "submitted"
    # Now another application would find this one open, and the pre-check says so too.
    conditions = _entity_conditions(entity)
    assert not conditions["no_open_application"].met
    with pytest.raises(FundingError) as refused:
        _draft(entity)
    assert refused.value.message == conditions["no_open_application"].problem


def test_the_services_ask_the_selector(applicant, budgeted_venue, monkeypatch):
    """Break the selector once: the submission follows it (the check is not repeated elsewhere)."""
    entity = EntityFactory(owner=applicant)
    draft = _draft(entity)
    ResidencyFactory(entity=entity, sub_venue=budgeted_venue, status=Residency.Status.SELECTED, entered_on=None)
    monkeypatch.setattr(services, "entity_eligibility_problem", lambda *a, **k: "refused by the selector")
    with pytest.raises(FundingError, match="refused by the selector"):
        services.application_submit(application=draft, by=applicant)
