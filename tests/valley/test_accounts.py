"""Sign-up and e-mail confirmation."""

from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core import signing
from django.urls import reverse

from valley.accounts import services as accounts
from valley.core import roles

PASSWORD = "Jinchuanggu-2026-Taiyuan!"


def _sign_up(client, django_capture_on_commit_callbacks, **overrides):
    data = {
        "email": "new@example.cn",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "accept_privacy": "on",
        **overrides,
    }
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("signup"), data, HTTP_ACCEPT_LANGUAGE="en")
    return response, callbacks


def test_signing_up_makes_an_unconfirmed_applicant_and_queues_the_mail(client, db, django_capture_on_commit_callbacks):
    with mock.patch("valley.messaging.tasks.send_mail_task.apply_async") as publish:
        response, callbacks = _sign_up(client, django_capture_on_commit_callbacks, email="New@Example.CN")
        for callback in callbacks:
            callback()
    assert response.status_code == 302 and response["Location"] == reverse("signup_done")
    user = get_user_model().objects.get(email="new@example.cn")
    assert user.email_confirmed_at is None
    assert roles.has_role(user, roles.APPLICANT) and not user.is_staff
    assert publish.call_count == 1
    kwargs = publish.call_args.kwargs["kwargs"]
    assert kwargs["recipients"] == ["new@example.cn"]
    assert "/accounts/confirm/" in kwargs["body"]
    # They are logged in and told to check their mail.
    body = client.get(reverse("signup_done"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "We sent a confirmation link to new@example.cn" in body


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"password1": "12345678", "password2": "12345678"}, "password1", "too common"),
        ({"password1": "Short1!", "password2": "Short1!"}, "password1", "too short"),
        ({"password1": "84930284710392", "password2": "84930284710392"}, "password1", "entirely numeric"),
        # Ten characters or more, from three of the four kinds, without the address's name part.
        ({"password1": "Taiyuan-26", "password2": "Taiyuan-26"}, "password1", None),
        ({"password1": "Taiyuan-2", "password2": "Taiyuan-2"}, "password1", "at least 10 characters"),
        ({"password1": "taiyuan-valley", "password2": "taiyuan-valley"}, "password1", "at least 3 of these four"),
        ({"password1": "Xnew-Valley-2026", "password2": "Xnew-Valley-2026"}, "password1", "e-mail address's name"),
        ({"password2": "something-else-2026"}, "password2", "differ"),
        ({"email": "not-an-address"}, "email", "valid email"),
    ],
)
def test_sign_up_says_what_to_fix(client, db, django_capture_on_commit_callbacks, overrides, field, message):
    response, callbacks = _sign_up(client, django_capture_on_commit_callbacks, **overrides)
    if message is None:  # the boundary case that passes every rule
        assert response.status_code == 302
        return
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    assert not get_user_model().objects.exists()
    assert callbacks == []


def test_an_address_is_signed_up_only_once(client, make_user, django_capture_on_commit_callbacks):
    make_user(email="taken@example.cn")
    response, _ = _sign_up(client, django_capture_on_commit_callbacks, email="TAKEN@example.cn")
    assert "already exists" in response.context["form"].errors["email"][0]


def test_the_link_confirms_the_address_once_and_for_all(client, applicant):
    token = accounts.confirmation_token(applicant)
    response = client.get(reverse("confirm_email", args=[token]), follow=True, HTTP_ACCEPT_LANGUAGE="en")
    applicant.refresh_from_db()
    assert applicant.email_confirmed_at is not None
    assert "is confirmed" in response.content.decode()
    first = applicant.email_confirmed_at
    client.get(reverse("confirm_email", args=[token]))
    applicant.refresh_from_db()
    assert applicant.email_confirmed_at == first


def test_a_tampered_link_is_refused_with_a_message(client, applicant):
    token = accounts.confirmation_token(applicant)
    response = client.get(reverse("confirm_email", args=[token[:-2] + "xx"]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    applicant.refresh_from_db()
    assert applicant.email_confirmed_at is None


def test_an_expired_link_is_refused_with_a_message(client, applicant):
    token = accounts.confirmation_token(applicant)
    with mock.patch("django.core.signing.time.time", return_value=signing.time.time() + 4 * 24 * 3600):
        response = client.get(reverse("confirm_email", args=[token]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "expired" in response.content.decode()


def test_a_link_for_an_old_address_no_longer_works(client, applicant):
    token = accounts.confirmation_token(applicant)
    applicant.email = "changed@example.cn"
    applicant.save()
    response = client.get(reverse("confirm_email", args=[token]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "no longer in use" in response.content.decode()


def test_an_unconfirmed_applicant_is_told_to_confirm_before_creating(client, applicant):
    client.force_login(applicant)
    listing = client.get(reverse("teams:entity_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "not confirmed yet" in listing
    response = client.get(reverse("teams:entity_create"), follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "Confirm your e-mail address first" in response.content.decode()


def test_the_confirmation_mail_can_be_sent_again(client, applicant, django_capture_on_commit_callbacks):
    client.force_login(applicant)
    with (
        mock.patch("valley.messaging.tasks.send_mail_task.apply_async") as publish,
        django_capture_on_commit_callbacks(execute=True),
    ):
        client.post(reverse("resend_confirmation"))
    assert publish.call_args.kwargs["kwargs"]["recipients"] == [applicant.email]


def test_the_login_page_offers_sign_up_and_the_nav_shows_my_teams(client, applicant):
    assert reverse("signup") in client.get(reverse("login")).content.decode()
    client.force_login(applicant)
    body = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "My teams" in body and reverse("teams:entity_list") in body


def test_a_chinese_name_reads_family_name_first_and_a_western_one_given_name_first():
    from valley.models import User

    assert User(email="w@example.cn", first_name="小明", last_name="王").get_full_name() == "王小明"
    assert str(User(email="w@example.cn", first_name="小明", last_name="王")) == "王小明 <w@example.cn>"
    assert User(email="m@example.cn", first_name="Ming", last_name="Wang").get_full_name() == "Ming Wang"
    assert User(email="o@example.cn", last_name="欧阳").get_full_name() == "欧阳"


def test_the_chinese_sign_up_page_says_the_password_rules_in_chinese(client, db):
    page = client.get(reverse("signup"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "至少 10 个字符" in page
    data = {"email": "new@example.cn", "password1": "Short1!", "password2": "Short1!"}
    form = client.post(reverse("signup"), data, HTTP_ACCEPT_LANGUAGE="zh-hans").context["form"]
    assert form.errors["password1"] == ["密码太短：至少使用 10 个字符。"]
