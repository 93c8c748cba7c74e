"""Failed logins are throttled per account and per address (django-axes, settings.AXES_*)."""

import datetime

from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from valley.core import roles
from valley.models import AuditEntry

PASSWORD = "pw-Valley-2026!"


def attempt(email, password, address="127.0.0.1", path=None):
    client = Client(REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="en")
    return client.post(path or reverse("login"), {"username": email, "password": password})


def test_a_wrong_password_is_answered_with_the_form_again(applicant):
    response = attempt(applicant.email, "wrong")
    assert response.status_code == 200
    assert "correct" in response.content.decode()  # Django's "Please enter a correct email and password"


def test_after_five_failures_the_account_is_locked_even_with_the_right_password(applicant):
    for _ in range(5):
        attempt(applicant.email, "wrong")
    response = attempt(applicant.email, PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed logins" in page and "15 minutes" in page
    assert "_auth_user_id" not in response.wsgi_request.session
    # Per account: another address is refused too.
    assert attempt(applicant.email, PASSWORD, address="192.0.2.7").status_code == 429
    # Every failed attempt (the locked-out ones too) is in the audit log.
    assert AuditEntry.objects.filter(action="auth.login_failed").count() == 7


def test_after_five_failures_from_one_address_it_is_locked_for_every_account(applicant, other_applicant):
    for number in range(5):
        attempt(f"nobody{number}@example.cn", "wrong", address="198.51.100.9")
    assert attempt(other_applicant.email, PASSWORD, address="198.51.100.9").status_code == 429
    assert attempt(other_applicant.email, PASSWORD, address="198.51.100.10").status_code == 302


def test_the_admin_login_is_throttled_too(provincial_staff):
    for _ in range(5):
        attempt(provincial_staff.email, "wrong", path="/admin/login/")
    assert attempt(provincial_staff.email, PASSWORD, path="/admin/login/").status_code == 429


def test_four_failures_then_the_right_password_lets_them_in_and_start_again(applicant):
    for _ in range(4):
        attempt(applicant.email, "wrong")
    assert attempt(applicant.email, PASSWORD).status_code == 302
    for _ in range(4):  # a success resets the count
        attempt(applicant.email, "wrong")
    assert attempt(applicant.email, PASSWORD).status_code == 302


def test_the_lock_ends_after_the_cool_off_or_by_axes_reset(applicant, make_user):
    from axes.models import AccessAttempt

    for _ in range(5):
        attempt(applicant.email, "wrong")
    assert attempt(applicant.email, PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=16))
    assert attempt(applicant.email, PASSWORD).status_code == 302

    staff = make_user(roles.REVIEWER)
    for _ in range(5):
        attempt(staff.email, "wrong", address="203.0.113.5")
    assert attempt(staff.email, PASSWORD, address="203.0.113.6").status_code == 429
    call_command("axes_reset", verbosity=0)
    assert attempt(staff.email, PASSWORD, address="203.0.113.6").status_code == 302
