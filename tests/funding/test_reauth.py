"""Approving money and changing the fund policy need a recent re-authentication (valley.accounts.reauth).

These tests go through the real re-authentication page (password and a code from the authenticator) and
read the session key from the module, so that they fail when the page lets a wrong password through or
when the key the page writes is not the one the doors read. They assert the exact redirects."""

import time
from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from django.urls import reverse

from funding.demo import file_report
from funding.models import Application, FundPolicy
from tests.auth_helpers import reauthenticate, second_factor_device, totp_code
from valley.accounts import reauth
from valley.models import AuditEntry

S = Application.State
PASSWORD = "pw-Valley-2026!"


def asked_to_reauthenticate(next_url: str) -> str:
    """Where a door sends a person who must re-authenticate first (written out, not read from the module)."""
    return f"{reverse('reauthenticate')}?next={quote(next_url)}"


def reauthenticated(client) -> bool:
    return reauth.SESSION_KEY in client.session


@pytest.fixture
def approver(client, people):
    client.force_login(people["approver"])
    return people["approver"]


@pytest.fixture
def approve_url(application_in):
    return reverse("funding:approve", args=[application_in(S.AWAITING_DECISION).pk])


def confirm(client, user, *, password=PASSWORD, token=None, next_url=""):
    """Post the re-authentication form as the person would (a fresh code from their device unless `token`)."""
    device = second_factor_device(user)
    return client.post(
        reverse("reauthenticate"),
        {"password": password, "token": totp_code(device) if token is None else token, "next": next_url},
        HTTP_ACCEPT_LANGUAGE="en",
    )


# ------------------------------------------------------------------ the re-authentication page


def test_a_wrong_password_is_refused_beside_the_field_and_does_not_count(client, approver, approve_url):
    response = confirm(client, approver, password="wrong", next_url=approve_url)
    assert response.status_code == 200
    assert response.context["form"].errors == {"password": ["That password is not right."]}
    assert "That password is not right." in response.content.decode()
    assert not reauthenticated(client)
    assert client.get(approve_url)["Location"] == asked_to_reauthenticate(approve_url)
    # The code was not even looked at (so it is not used up): the right password with it goes through.
    assert not AuditEntry.objects.filter(action__startswith="auth.second_factor", actor=approver).exists()
    assert confirm(client, approver, next_url=approve_url)["Location"] == approve_url


def test_a_wrong_code_is_refused_beside_its_field_and_does_not_count(client, approver, approve_url):
    response = confirm(client, approver, token="12345x", next_url=approve_url)
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["token"]
    assert response.context["form"].errors["token"][0].startswith("That code is not right")
    assert not reauthenticated(client)
    assert client.get(approve_url)["Location"] == asked_to_reauthenticate(approve_url)


def test_the_right_password_and_code_reauthenticate_and_go_back_exactly(client, approver, approve_url):
    before = time.time()
    response = confirm(client, approver, next_url=approve_url)
    assert response.status_code == 302 and response["Location"] == approve_url
    assert before <= client.session[reauth.SESSION_KEY] <= time.time()
    assert client.get(approve_url).status_code == 200


def test_it_never_sends_the_person_to_another_site(client, approver):
    response = confirm(client, approver, next_url="https://evil.example.cn/funding/1/approve/")
    assert response["Location"] == reverse("home")


def test_a_reauthentication_older_than_the_window_is_asked_again(client, approver, approve_url, settings, monkeypatch):
    settings.REAUTH_MAX_AGE_MINUTES = 10
    assert confirm(client, approver, next_url=approve_url)["Location"] == approve_url
    at = client.session[reauth.SESSION_KEY]
    monkeypatch.setattr(reauth, "time", SimpleNamespace(time=lambda: at + 10 * 60 - 1))
    assert client.get(approve_url).status_code == 200
    monkeypatch.setattr(reauth, "time", SimpleNamespace(time=lambda: at + 10 * 60 + 1))
    assert client.get(approve_url)["Location"] == asked_to_reauthenticate(approve_url)


def test_the_window_counts_from_the_time_in_the_session(client, approver, approve_url, settings):
    settings.REAUTH_MAX_AGE_MINUTES = 10
    reauthenticate(client, minutes_ago=11)
    assert client.get(approve_url)["Location"] == asked_to_reauthenticate(approve_url)
    reauthenticate(client, minutes_ago=9)
    assert client.get(approve_url).status_code == 200


# ------------------------------------------------------------------ the doors that ask for it


def test_approving_without_a_recent_reauthentication_asks_for_it_and_changes_nothing(client, application_in, approver):
    application = application_in(S.AWAITING_DECISION)
    url = reverse("funding:approve", args=[application.pk])
    response = client.post(url, {"approved_amount": "450,000", "comment": "同意资助"})
    assert response["Location"] == asked_to_reauthenticate(url)
    assert Application.objects.get(pk=application.pk).state == S.AWAITING_DECISION

    # Password and a fresh code; then back to the form, filled in as it was sent.
    response = confirm(client, approver, next_url=url)
    assert response["Location"] == url
    page = client.get(url)
    assert page.status_code == 200
    assert 'value="450,000"' in page.content.decode() and "同意资助" in page.content.decode()
    assert Application.objects.get(pk=application.pk).state == S.AWAITING_DECISION  # sent again by the person
    response = client.post(url, {"approved_amount": "450,000", "comment": "同意资助"})
    assert response["Location"] == reverse("funding:detail", args=[application.pk])
    application.refresh_from_db()
    assert (application.state, application.approved_amount) == (S.PUBLIC_NOTICE, Decimal("450000.00"))


def test_paying_out_asks_too(client, application_in, people):
    application = application_in(S.DISBURSEMENT)
    file_report(application, people, accept=True)  # instalment 2 is released on the accepted report
    client.force_login(people["finance"])
    url = reverse("funding:disburse", args=[application.pk])
    data = {"amount": "250,000.00", "paid_on": "2026-11-25", "reference": "PAY-2"}
    assert client.post(url, data)["Location"] == asked_to_reauthenticate(url)
    assert Application.objects.get(pk=application.pk).disbursed_total == application.disbursed_total
    assert confirm(client, people["finance"], next_url=url)["Location"] == url
    assert client.post(url, data)["Location"] == reverse("funding:detail", args=[application.pk])
    paid = Application.objects.get(pk=application.pk).disbursed_total - application.disbursed_total
    assert paid == Decimal("250000.00")


def test_the_admin_approve_action_asks_first(client, application_in, approver):
    application = application_in(S.AWAITING_DECISION)
    changelist = reverse("admin:funding_application_changelist")
    form = {"action": "do_approve", "_selected_action": [application.pk], "apply": "1", "comment": "同意"}
    response = client.post(changelist, form)
    assert response["Location"] == asked_to_reauthenticate(changelist)
    assert Application.objects.get(pk=application.pk).state == S.AWAITING_DECISION
    assert confirm(client, approver, next_url=changelist)["Location"] == changelist
    client.post(changelist, form)
    assert Application.objects.get(pk=application.pk).state == S.PUBLIC_NOTICE


def test_the_api_approves_over_a_session_only_after_a_reauthentication(client, application_in, approver):
    application = application_in(S.AWAITING_DECISION)
    url = f"/api/applications/{application.pk}/approve/"
    response = client.post(url, {"comment": "ok"}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert "re-authentication" in response.json()["detail"]
    assert Application.objects.get(pk=application.pk).state == S.AWAITING_DECISION
    confirm(client, approver)
    assert client.post(url, {"comment": "ok"}, content_type="application/json").status_code == 200


def test_changing_the_fund_policy_asks_first_and_keeps_what_was_typed(client, provincial_staff):
    client.force_login(provincial_staff)
    add = reverse("admin:funding_fundpolicy_add")
    assert client.get(add)["Location"] == asked_to_reauthenticate(add)
    before = FundPolicy.objects.count()
    typed = {
        "min_amount": "200000.00",
        "max_amount": "900000.00",
        "max_paid_in_share": "0.50",
        "notice_days": "7",
        "reason": "年度调整",
    }
    response = client.post(add, typed)
    assert response["Location"] == asked_to_reauthenticate(add)
    assert FundPolicy.objects.count() == before
    assert confirm(client, provincial_staff, next_url=add)["Location"] == add
    page = client.get(add)
    assert page.status_code == 200
    assert 'value="900000.00"' in page.content.decode() and "年度调整" in page.content.decode()
    response = client.post(add, typed)
    assert response["Location"] == reverse("admin:funding_fundpolicy_changelist")
    assert FundPolicy.objects.count() == before + 1
    # Added by services.policy_change, as everywhere: the new version is the one in force, and recorded.
    policy = FundPolicy.objects.latest()
    assert (policy.max_amount, policy.changed_by) == (Decimal("900000.00"), provincial_staff)
    entry = AuditEntry.objects.get(action="funding.policy.created", object_id=str(policy.pk))
    assert entry.actor == provincial_staff
