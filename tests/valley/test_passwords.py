"""Passwords: not one of the last five, and a password set before today's rules is changed at the next login."""

from django.contrib.auth.forms import SetPasswordForm
from django.test import Client
from django.urls import reverse
from django.utils import translation

from valley.models import PasswordUsed

PASSWORD = "pw-Valley-2026!"


def set_password(user, password: str) -> dict:
    """The form's errors, read in English (the portal's default language is Chinese)."""
    form = SetPasswordForm(user, {"new_password1": password, "new_password2": password})
    with translation.override("en"):
        valid = form.is_valid()
    if valid:
        form.save()
        return {}
    return form.errors


def test_none_of_the_last_five_passwords_can_be_set_again(applicant):
    for number in range(1, 7):
        assert set_password(applicant, f"Taiyuan-{number}-Valley") == {}
    # Six set: the first fell out of the five kept when the sixth came.
    errors = set_password(applicant, "Taiyuan-2-Valley")
    assert "You used this password recently" in errors["new_password2"][0]
    assert set_password(applicant, "Taiyuan-1-Valley") == {}
    assert PasswordUsed.objects.filter(user=applicant).count() == 5
    assert not any("Taiyuan" in used.password for used in PasswordUsed.objects.all())  # hashes only


def test_a_weak_password_from_before_the_rules_is_changed_at_the_next_login(make_user):
    user = make_user(email="old-timer@example.cn", password="oldpass1")  # made without the validators
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.post(reverse("login"), {"username": user.email, "password": "oldpass1"}).status_code == 302
    response = client.get(reverse("teams:entity_list"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("password_change")
    page = response.content.decode()
    assert "no longer meets the portal" in page
    new = "Stronger-Valley-2027"
    done = client.post(
        reverse("password_change"),
        {"old_password": "oldpass1", "new_password1": new, "new_password2": new},
        follow=True,
    )
    assert "Password changed" in done.content.decode()
    assert client.get(reverse("teams:entity_list")).status_code == 200


def test_a_strong_password_goes_straight_in(applicant):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post(reverse("login"), {"username": applicant.email, "password": PASSWORD})
    assert client.get(reverse("teams:entity_list")).status_code == 200
