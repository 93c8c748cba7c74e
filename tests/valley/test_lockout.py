"""Failed logins are throttled per account and address together (django-axes, settings.AXES_*): one person's
typing never locks out a colleague behind the same office address, and nobody locks an account from elsewhere."""

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
    # Every failed attempt (the locked-out one too) is in the audit log.
    assert AuditEntry.objects.filter(action="auth.login_failed").count() == 6


def test_five_failures_on_one_account_lock_neither_another_account_nor_another_address(applicant, other_applicant):
    office = "198.51.100.9"
    for _ in range(5):
        attempt(applicant.email, "wrong", address=office)
    assert attempt(applicant.email, PASSWORD, address=office).status_code == 429
    # A colleague behind the same address logs in; the account itself from elsewhere too.
    assert attempt(other_applicant.email, PASSWORD, address=office).status_code == 302
    assert attempt(applicant.email, PASSWORD, address="198.51.100.10").status_code == 302


def test_the_login_page_says_how_many_attempts_are_left(applicant):
    page = attempt(applicant.email, "wrong").content.decode()
    assert "4 attempts left" in page and "15 minutes" in page
    for _ in range(3):
        page = attempt(applicant.email, "wrong").content.decode()
    assert "1 attempt left" in page
    zh = Client(REMOTE_ADDR="192.0.2.40", HTTP_ACCEPT_LANGUAGE="zh-hans")
    page = zh.post(reverse("login"), {"username": applicant.email, "password": "wrong"}).content.decode()
    assert "还可尝试 4 次" in page


def test_retries_during_the_lockout_do_not_restart_it(applicant):
    from axes.models import AccessAttempt

    for _ in range(5):
        attempt(applicant.email, "wrong")
    locked_at = AccessAttempt.objects.get().attempt_time
    AccessAttempt.objects.update(attempt_time=locked_at - datetime.timedelta(minutes=10))
    assert attempt(applicant.email, "wrong").status_code == 429  # a retry ten minutes in
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - datetime.timedelta(minutes=6))
    # Sixteen minutes after the fifth failure the pause is over, although the last retry was six minutes ago.
    assert attempt(applicant.email, PASSWORD).status_code == 302


def test_staff_unlock_an_account_from_the_admin(applicant, admin_user):
    for _ in range(5):
        attempt(applicant.email, "wrong")
    assert attempt(applicant.email, PASSWORD).status_code == 429
    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(admin_user)
    response = staff.post(
        reverse("admin:valley_user_changelist"),
        {"action": "unlock_login", "_selected_action": [applicant.pk]},
        follow=True,
    )
    assert "1 account unlocked" in response.content.decode()
    assert attempt(applicant.email, PASSWORD).status_code == 302
    entry = AuditEntry.objects.get(action="auth.login_unlocked")
    assert (entry.actor_id, entry.object_id) == (admin_user.pk, str(applicant.pk))


def test_a_password_reset_by_mail_sets_a_new_password_and_lifts_the_lockout(applicant, settings):
    import re

    from valley.models import OutboxMessage

    for _ in range(5):
        attempt(applicant.email, "wrong")
    page = attempt(applicant.email, PASSWORD).content.decode()
    assert reverse("password_reset") in page  # the lockout page offers the reset

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert "Forgot your password?" in client.get(reverse("login")).content.decode()
    form = client.get(reverse("password_reset")).content.decode()
    assert "Reset your password" in form and "admin" not in form.lower().split("<body", 1)[-1][:200]
    response = client.post(reverse("password_reset"), {"email": applicant.email}, follow=True)
    assert "Check your mail" in response.content.decode()
    mail = OutboxMessage.objects.latest("pk").kwargs
    assert mail["recipients"] == [applicant.email] and "set a new password" in mail["subject"]
    link = re.search(re.escape(settings.SITE_URL) + r"(/accounts/reset/\S+/)", mail["body"]).group(1)
    form_page = client.get(link, follow=True)
    new = "Another-Valley-2027!"
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}, follow=True)
    assert "Password set" in done.content.decode()
    assert attempt(applicant.email, new).status_code == 302
    assert AuditEntry.objects.filter(action="auth.password_reset", object_id=str(applicant.pk)).exists()


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
    assert attempt(staff.email, PASSWORD, address="203.0.113.5").status_code == 429
    call_command("axes_reset", verbosity=0)
    assert attempt(staff.email, PASSWORD, address="203.0.113.5").status_code == 302
