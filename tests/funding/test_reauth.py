"""Approving money and changing the fund policy need a recent re-authentication (valley.accounts.reauth)."""

from decimal import Decimal
from urllib.parse import unquote

from django.urls import reverse

from funding.models import Application, FundPolicy
from tests.auth_helpers import reauthenticate, second_factor_device, totp_code

S = Application.State
PASSWORD = "pw-Valley-2026!"


def test_approving_without_a_recent_reauthentication_asks_for_it_and_changes_nothing(client, application_in, people):
    application = application_in(S.AWAITING_DECISION)
    client.force_login(people["approver"])
    url = reverse("funding:approve", args=[application.pk])
    response = client.post(url, {"approved_amount": "450,000", "comment": "同意资助"})
    assert response["Location"] == f"{reverse('reauthenticate')}?next={url}"
    assert Application.objects.get(pk=application.pk).state == S.AWAITING_DECISION

    # Password and a fresh code; then back to the form, filled in as it was sent.
    device = second_factor_device(people["approver"])
    response = client.post(
        reverse("reauthenticate"), {"password": PASSWORD, "token": totp_code(device), "next": url}, follow=True
    )
    assert response.request["PATH_INFO"] == url
    page = response.content.decode()
    assert 'value="450,000"' in page and "同意资助" in page
    assert Application.objects.get(pk=application.pk).state == S.AWAITING_DECISION  # sent again by the person
    response = client.post(url, {"approved_amount": "450,000", "comment": "同意资助"})
    assert response["Location"] == reverse("funding:detail", args=[application.pk])
    application.refresh_from_db()
    assert (application.state, application.approved_amount) == (S.PUBLIC_NOTICE, Decimal("450000.00"))


def test_a_wrong_password_or_code_does_not_count(client, people):
    client.force_login(people["approver"])
    device = second_factor_device(people["approver"])
    response = client.post(
        reverse("reauthenticate"), {"password": "wrong", "token": totp_code(device)}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "That password is not right." in response.content.decode()
    response = client.post(
        reverse("reauthenticate"), {"password": PASSWORD, "token": "12345x"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "That code is not right" in response.content.decode()
    application_url = reverse("funding:approve", args=[1])
    assert client.get(application_url).status_code in (302, 404)
    assert not client.session.get("valley_reauth_at")


def test_a_reauthentication_older_than_the_window_is_asked_again(client, application_in, people, settings):
    settings.REAUTH_MAX_AGE_MINUTES = 10
    application = application_in(S.AWAITING_DECISION)
    client.force_login(people["approver"])
    url = reverse("funding:approve", args=[application.pk])
    reauthenticate(client, minutes_ago=11)
    assert client.get(url)["Location"].startswith(reverse("reauthenticate"))
    reauthenticate(client, minutes_ago=9)
    assert client.get(url).status_code == 200


def test_paying_out_asks_too(client, application_in, people):
    application = application_in(S.DISBURSEMENT)
    client.force_login(people["finance"])
    url = reverse("funding:disburse", args=[application.pk])
    data = {"amount": "100,000", "paid_on": "2026-11-25", "reference": "PAY-1"}
    assert client.post(url, data)["Location"].startswith(reverse("reauthenticate"))
    assert Application.objects.get(pk=application.pk).disbursed_total == application.disbursed_total
    reauthenticate(client)
    assert client.post(url, data).status_code == 302
    paid = Application.objects.get(pk=application.pk).disbursed_total - application.disbursed_total
    assert paid == Decimal("100000.00")


def test_the_admin_approve_action_asks_first(client, application_in, people):
    application = application_in(S.AWAITING_DECISION)
    client.force_login(people["approver"])
    changelist = reverse("admin:funding_application_changelist")
    form = {"action": "do_approve", "_selected_action": [application.pk], "apply": "1", "comment": "同意"}
    response = client.post(changelist, form)
    assert response["Location"].startswith(reverse("reauthenticate"))
    assert Application.objects.get(pk=application.pk).state == S.AWAITING_DECISION
    reauthenticate(client)
    client.post(changelist, form)
    assert Application.objects.get(pk=application.pk).state == S.PUBLIC_NOTICE


def test_the_api_approves_over_a_session_only_after_a_reauthentication(client, application_in, people):
    application = application_in(S.AWAITING_DECISION)
    client.force_login(people["approver"])
    url = f"/api/applications/{application.pk}/approve/"
    response = client.post(url, {"comment": "ok"}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert "re-authentication" in response.json()["detail"]
    reauthenticate(client)
    assert client.post(url, {"comment": "ok"}, content_type="application/json").status_code == 200


def test_changing_the_fund_policy_asks_first_and_keeps_what_was_typed(client, provincial_staff):
    client.force_login(provincial_staff)
    add = reverse("admin:funding_fundpolicy_add")
    assert client.get(add)["Location"].startswith(reverse("reauthenticate"))
    before = FundPolicy.objects.count()
    typed = {
        "min_amount": "200000.00",
        "max_amount": "900000.00",
        "max_paid_in_share": "0.50",
        "notice_days": "7",
        "reason": "年度调整",
    }
    response = client.post(add, typed)
    assert FundPolicy.objects.count() == before
    reauthenticate(client)
    page = client.get(unquote(response["Location"].split("next=", 1)[1]))
    assert page.status_code == 200
    assert 'value="900000.00"' in page.content.decode()
    response = client.post(add, typed)
    assert response.status_code == 302
    assert FundPolicy.objects.count() == before + 1
