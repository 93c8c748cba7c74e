"""Service guides (办事指南): a public page per service, in both languages, linked from the forms they govern,
and on the fund's guide the pre-check of the fund's conditions for a signed-in applicant."""

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from funding import selectors as funding_selectors
from tests.factories import EntityFactory, ResidencyFactory, SubVenueFactory
from valley.guides import guide_url
from valley.models import Guide

SERVICES = ["fund", "residency", "achievement-transformation", "government-affairs", "finance", "technology"]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_guide_renders_in_both_languages(client, db, language, django_assert_max_num_queries):
    assert set(Guide.objects.values_list("service", flat=True)) == set(SERVICES)
    index = client.get(reverse("guide_index"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    for guide in Guide.objects.all():
        with django_assert_max_num_queries(3):
            page = client.get(guide_url(guide.service), HTTP_ACCEPT_LANGUAGE=language)
        text = page.content.decode()
        title, who = (
            (guide.name_zh, guide.who_may_apply_zh)
            if language == "zh-hans"
            else (guide.name_en, guide.who_may_apply_en)
        )
        assert page.status_code == 200 and escape(title) in text and escape(who.splitlines()[0]) in text
        assert escape(guide.fee_zh if language == "zh-hans" else guide.fee_en) in text
        assert guide_url(guide.service) in index
    assert client.get("/guides/no-such-service/").status_code == 404


def test_the_forms_link_their_guides(client, applicant):
    client.force_login(applicant)
    fund_form = client.get(reverse("funding:new")).content.decode()
    assert guide_url("fund") in fund_form and reverse("teams:residency_requests") in fund_form
    entity = EntityFactory(owner=applicant)
    residency_form = client.get(reverse("teams:residency_request_new", args=[entity.pk])).content.decode()
    assert guide_url("residency") in residency_form


def _checks(client, language="en"):
    page = client.get(guide_url("fund"), HTTP_ACCEPT_LANGUAGE=language)
    return {check.label: check for group in page.context["precheck"] for check in group.checks}, page


def test_the_precheck_for_a_fresh_applicant(client, applicant):
    client.force_login(applicant)
    entity = EntityFactory(owner=applicant)
    checks, page = _checks(client)
    assert not checks["Your e-mail address is confirmed."].met
    resident = checks["Resident in a sub-venue (selected or entered)."]
    assert not resident.met and resident.fix_url == reverse("teams:residency_request_new", args=[entity.pk])
    assert checks["Never granted the start-up fund before."].met
    assert checks["No other application open."].met
    assert resident.fix_url in page.content.decode()


def test_the_precheck_for_a_resident_applicant(client, applicant):
    applicant.email_confirmed_at = timezone.now()
    applicant.save()
    ResidencyFactory(entity=EntityFactory(owner=applicant), sub_venue=SubVenueFactory())
    client.force_login(applicant)
    checks, _page = _checks(client)
    assert all(check.met for check in checks.values()), checks


def test_no_precheck_for_anonymous_readers_nor_on_other_guides(client, applicant):
    assert client.get(guide_url("fund")).context["precheck"] is None
    client.force_login(applicant)
    assert client.get(guide_url("finance")).context["precheck"] is None


def test_the_precheck_queries_do_not_grow_with_the_teams(client, applicant, django_assert_max_num_queries):
    client.force_login(applicant)
    EntityFactory(owner=applicant)
    with django_assert_max_num_queries(30) as small:
        client.get(guide_url("fund"))
    for _ in range(5):
        EntityFactory(owner=applicant)
    with django_assert_max_num_queries(len(small)):
        client.get(guide_url("fund"))


def test_the_precheck_comes_from_the_funds_own_conditions():
    # The pre-check is registered by funding (valley never imports it) and is the fund's selector.
    from valley import guides

    assert guides._PRECHECKS["fund"] is funding_selectors.guide_precheck
