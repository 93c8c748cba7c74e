"""What an applicant may type as an amount, through the real form."""

from decimal import Decimal

import pytest
from django.urls import reverse

from funding.models import Application


@pytest.fixture
def post_amount(client, applicant, resident_entity):
    client.force_login(applicant)

    def post(amount):
        entity = resident_entity()
        return client.post(
            reverse("funding:new"),
            {"entity": entity.pk, "amount": amount, "purpose": "中试", "plan": "计划"},
            HTTP_ACCEPT_LANGUAGE="en",
        )

    return post


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("1000000", Decimal("1000000.00")),
        ("1000000.00", Decimal("1000000.00")),
        ("1,000,000", Decimal("1000000.00")),
        ("300000", Decimal("300000.00")),
        ("  500,000.50 ", Decimal("500000.50")),
        # Full-width digits from a Chinese input method are normalised, not refused (funding/money.py).
        ("３０００００", Decimal("300000.00")),
        ("１，０００，０００", Decimal("1000000.00")),
    ],
)
def test_accepted_amounts_are_saved_exactly(post_amount, typed, stored):
    response = post_amount(typed)
    assert response.status_code == 302
    assert Application.objects.get().amount == stored


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1000000.01", "at most 1,000,000.00 yuan"),
        ("0", "more than zero"),
        ("-5", "more than zero"),
        ("1e6", "is not an amount"),
        ("abc", "is not an amount"),
        ("", "Enter an amount"),
        ("１０００００", "at least 300,000.00 yuan"),  # normalised to 100000, below the minimum
        ("500000.123", "at most two decimals"),
        ("1,00,000", "is not an amount"),
    ],
)
def test_refused_amounts_say_what_to_fix_and_save_nothing(post_amount, typed, message):
    response = post_amount(typed)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Application.objects.exists()


def test_the_limits_come_from_the_policy_staff_set(post_amount, provincial_staff):
    from funding import services

    services.policy_change(
        by=provincial_staff,
        min_amount=Decimal("100000"),
        max_amount=Decimal("2000000"),
        max_paid_in_share=Decimal("0.5"),
        notice_days=5,
        reason="试点放宽",
    )
    assert post_amount("1500000").status_code == 302
    assert "at least 100,000.00 yuan" in post_amount("99999.99").content.decode()
