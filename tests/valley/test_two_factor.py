"""Two-factor login (valley.accounts.two_factor): staff, auditors and superusers confirm each login with a TOTP code."""

import base64
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.auth_helpers import second_factor_device, totp_code
from valley.core import roles
from valley.models import AuditEntry

PASSWORD = "pw-Valley-2026!"


def password_only(user) -> Client:
    """A client that has passed the password, not the code: the real login form."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(reverse("login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.mark.parametrize(
    "path", ["/", "/funding/queues/", "/exports/", "/admin/", "/admin/funding/application/", "/teams/"]
)
@pytest.mark.parametrize("role", [roles.PROVINCIAL_STAFF, roles.APPROVER, roles.AUDITOR])
def test_staff_and_auditors_without_the_code_are_sent_to_the_code_page(make_user, role, path):
    user = make_user(role)
    second_factor_device(user)
    response = password_only(user).get(path)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('two_factor_verify')}?next={path}"


def test_the_admin_login_page_is_no_way_around_the_code(client, make_user):
    user = make_user(roles.PROVINCIAL_STAFF, email="clerk@example.cn")
    second_factor_device(user)
    response = client.post("/admin/login/?next=/admin/", {"username": user.email, "password": PASSWORD}, follow=True)
    assert response.request["PATH_INFO"] == reverse("two_factor_verify")
    assert client.get("/admin/funding/fundpolicy/").status_code == 302


def test_applicants_log_in_with_the_password_alone(applicant):
    response = password_only(applicant).get(reverse("teams:entity_list"))
    assert response.status_code == 200


def test_a_wrong_code_is_refused_and_the_right_one_lets_them_in(make_user):
    user = make_user(roles.REVIEWER)
    device = second_factor_device(user)
    client = password_only(user)
    wrong = "000000" if totp_code(device) != "000000" else "111111"
    response = client.post(reverse("two_factor_verify"), {"token": wrong, "next": "/funding/queues/"})
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert client.get("/funding/queues/").status_code == 302  # still not in
    device.refresh_from_db()
    device.throttle_reset()  # django-otp slows down guessing; the right code comes a second later in life
    response = client.post(reverse("two_factor_verify"), {"token": totp_code(device), "next": "/funding/queues/"})
    assert response["Location"] == "/funding/queues/"
    assert client.get("/funding/queues/").status_code == 200
    actions = list(AuditEntry.objects.filter(actor_email=user.email).values_list("action", flat=True))
    assert "auth.second_factor_failed" in actions and "auth.second_factor" in actions


def test_a_code_is_accepted_only_once(make_user):
    user = make_user(roles.REVIEWER)
    device = second_factor_device(user)
    code = totp_code(device)
    first, second = password_only(user), password_only(user)
    assert first.post(reverse("two_factor_verify"), {"token": code})["Location"] == "/"
    assert second.post(reverse("two_factor_verify"), {"token": code}).status_code == 200


def test_an_api_request_of_an_unconfirmed_session_is_refused_with_a_reason(make_user):
    user = make_user(roles.PROVINCIAL_STAFF)
    second_factor_device(user)
    response = password_only(user).get("/api/applications/")
    assert response.status_code == 403
    assert "six-digit code" in response.json()["detail"]


def test_a_token_header_excuses_no_session_outside_the_api(make_user):
    from rest_framework.authtoken.models import Token

    user = make_user(roles.PROVINCIAL_STAFF)
    second_factor_device(user)
    client = password_only(user)
    key = Token.objects.create(user=user).key
    assert client.get("/funding/queues/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 302
    assert client.get("/api/applications/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


def test_a_first_login_without_a_device_sets_one_up(make_user):
    user = make_user(roles.AUDITOR)
    client = password_only(user)
    response = client.get("/exports/", follow=True)
    assert response.request["PATH_INFO"] == reverse("two_factor_setup")
    page = response.content.decode()
    assert "otpauth://totp/" in page and "data:image/svg+xml" in page
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(reverse("two_factor_setup"), {"token": totp_code(device), "next": "/exports/"})
    assert response["Location"] == "/exports/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/exports/").status_code == 200


def test_the_demo_accounts_codes_come_from_the_documented_secret(db, capsys):
    from django_otp.oath import totp

    from valley.demo import DEMO_TOTP_SECRET, demo_email
    from valley.models import User

    call_command("seed_demo", allow_production=True, verbosity=0)
    call_command("seed_demo", allow_production=True, verbosity=0)  # idempotent: still one device per account
    user = User.objects.get(email=demo_email("approver"))
    assert TOTPDevice.objects.filter(user=user).count() == 1
    code = f"{totp(base64.b32decode(DEMO_TOTP_SECRET)):06d}"
    capsys.readouterr()
    call_command("demo_otp", user.email)
    assert capsys.readouterr().out.strip() == code
    call_command("demo_logins")
    assert DEMO_TOTP_SECRET in capsys.readouterr().out

    client = Client()
    client.post(reverse("login"), {"username": user.email, "password": "valley-demo-2026"})
    assert client.post(reverse("two_factor_verify"), {"token": code})["Location"] == "/"
    assert not TOTPDevice.objects.filter(user=User.objects.get(email=demo_email("applicant"))).exists()


@pytest.mark.django_db
def test_demo_otp_watch_prints_each_new_code_with_its_seconds_left(capsys, monkeypatch):
    """A newcomer typing the code from a printout needs to know how long it lasts: --watch prints a code,
    sleeps until the next 30-second step, prints the next one."""
    from valley.demo import DEMO_TOTP_SECRET, demo_email
    from valley.management.commands import demo_otp

    call_command("seed_demo", allow_production=True, verbosity=0)
    clock = {"now": 1_800_000_010.0}  # 10 s into a step: 20 s left
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        clock["now"] += seconds

    monkeypatch.setattr(demo_otp, "time", SimpleNamespace(time=lambda: clock["now"], sleep=sleep))
    capsys.readouterr()
    call_command("demo_otp", demo_email("approver"), watch=True, codes=2)
    lines = capsys.readouterr().out.strip().splitlines()
    key = base64.b32decode(DEMO_TOTP_SECRET)
    assert lines == [
        f"{_code_at(key, 1_800_000_010):06d}  (valid for 20 more seconds)",
        f"{_code_at(key, 1_800_000_030.05):06d}  (valid for 30 more seconds)",
    ]
    assert slept == [pytest.approx(20.05)]


def _code_at(key: bytes, at: float) -> int:
    from django_otp.oath import TOTP

    t = TOTP(key, step=30, t0=0, digits=6)
    t.time = at
    return t.token()
