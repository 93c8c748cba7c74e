"""Sessions end after a time without activity and after an absolute lifetime, by role (valley.accounts.sessions):
staff and auditors 30 minutes / 12 hours, applicants 2 hours / 7 days. A form posted after the end is not lost."""

import json
import re
import time

import pytest
from django.test import Client
from django.urls import reverse

from valley.accounts.sessions import SEEN_KEY, STARTED_KEY
from valley.models import User

PASSWORD = "pw-Valley-2026!"


@pytest.fixture(autouse=True)
def _activity_recorded_each_minute(settings):
    settings.SESSION_ACTIVITY_RESOLUTION_SECONDS = 60  # as in production (tests/conftest.py sets a day)


def signed_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    assert client.get(reverse("home")).status_code == 200  # the first request starts the clock
    return client


def age(client, *, idle_minutes: float = 0, lived_minutes: float | None = None) -> None:
    """Pretend the last request was `idle_minutes` ago and the session began `lived_minutes` ago."""
    session = client.session
    now = time.time()
    session[SEEN_KEY] = int(now - idle_minutes * 60)
    session[STARTED_KEY] = int(now - (lived_minutes if lived_minutes is not None else idle_minutes) * 60)
    session.save()


@pytest.mark.parametrize(
    ("who", "idle", "logged_out"),
    [
        ("provincial_staff", 29, False),
        ("provincial_staff", 31, True),
        ("auditor", 31, True),
        ("applicant", 31, False),
        ("applicant", 119, False),
        ("applicant", 121, True),
    ],
)
def test_a_session_ends_after_the_idle_limit_of_the_role(request, who, idle, logged_out):
    client = signed_in(request.getfixturevalue(who))
    age(client, idle_minutes=idle)
    response = client.get(reverse("home"))
    if logged_out:
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
        page = client.get(response["Location"]).content.decode()
        assert "logged out after" in page and "minutes without activity" in page
        assert "_auth_user_id" not in client.session
    else:
        assert response.status_code == 200 and "_auth_user_id" in client.session


def test_staff_are_logged_out_after_twelve_hours_however_active(provincial_staff):
    client = signed_in(provincial_staff)
    age(client, idle_minutes=1, lived_minutes=12 * 60 + 1)
    response = client.get(reverse("home"), follow=True)
    assert "a session lasts at most 12 hours" in response.content.decode()


def test_applicants_keep_a_week(applicant):
    client = signed_in(applicant)
    age(client, idle_minutes=1, lived_minutes=6 * 24 * 60)
    assert client.get(reverse("home")).status_code == 200
    age(client, idle_minutes=1, lived_minutes=7 * 24 * 60 + 1)
    assert client.get(reverse("home")).status_code == 302


def test_pages_carry_the_warning_and_the_button_keeps_the_session(provincial_staff):
    client = signed_in(provincial_staff)
    page = client.get(reverse("home")).content.decode()
    seconds = int(re.search(r'data-seconds-left="(\d+)"', page).group(1))
    assert 29 * 60 < seconds <= 30 * 60 and "Stay logged in" in page
    age(client, idle_minutes=29)
    answer = client.get(reverse("session_keepalive"))
    assert answer.status_code == 200 and answer.json()["seconds_left"] > 29 * 60
    age(client, idle_minutes=0)  # the keep-alive was recorded as activity: no logout now
    assert client.get(reverse("home")).status_code == 200


def test_a_form_posted_after_the_end_comes_back_after_login(applicant, resident_entity):
    entity = resident_entity()
    client = signed_in(applicant)
    age(client, idle_minutes=121)
    edit = reverse("teams:entity_edit", args=[entity.pk])
    response = client.post(edit, {"name_zh": "新的名称", "summary": "Kept while you logged in again", "password": "x"})
    assert response.status_code == 302 and response["Location"] == f"{reverse('login')}?next={edit}"
    login_page = client.get(response["Location"]).content.decode()
    assert "the form comes back filled in" in login_page
    client.post(reverse("login"), {"username": applicant.email, "password": PASSWORD})
    page = client.get(edit).content.decode()
    kept = json.loads(re.search(r'<script id="restored-form" type="application/json">(.*?)</script>', page).group(1))
    assert kept["summary"] == ["Kept while you logged in again"] and "password" not in kept
    # Once: the next visit shows the saved record again.
    assert "restored-form" not in client.get(edit).content.decode()
    assert User.objects.get(pk=applicant.pk).is_active
