"""The demo policy: a public notice in minutes, so a newcomer walks a grant to its end in one sitting. Only a
version marked as a demo may have it, only a portal with FUNDING_DEMO_POLICIES (never DEBUG off) honours it,
and real versions keep their days and the database's refusal of a notice under one day."""

import datetime
import os
import subprocess
import sys

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from funding import services, tasks
from funding.models import Application, FundPolicy
from funding.workflow import WORKFLOW
from tests.api_support import results, token_client
from tests.conftest import ROOT

S = Application.State


@pytest.fixture
def demo_policy(db, settings):
    settings.FUNDING_DEMO_POLICIES = True
    return services.policy_add_demo(notice_minutes=2)


def _end_notice_problem(application):
    application = Application.objects.get(pk=application.pk)
    return WORKFLOW.transitions["end_notice"].guard(application)


def _state(application):
    return Application.objects.values_list("state", flat=True).get(pk=application.pk)


@pytest.mark.parametrize(
    "values",
    [
        {"notice_minutes": 5},  # minutes on a real version
        {"is_demo": True, "notice_minutes": 0},
        {"is_demo": True, "notice_minutes": 5, "notice_days": 0},
        {"notice_days": 0},
    ],
)
def test_the_database_refuses_minutes_on_a_real_version_and_any_notice_under_one_unit(db, values):
    with pytest.raises(IntegrityError), transaction.atomic():
        FundPolicy.objects.create(reason="x", **values)


def test_a_demo_version_is_refused_where_demo_policies_do_not_count(db, settings):
    settings.FUNDING_DEMO_POLICIES = False
    with pytest.raises(services.FundingError):
        services.policy_add_demo(notice_minutes=2)
    assert not FundPolicy.objects.filter(is_demo=True).exists()


def test_production_settings_never_allow_demo_policies():
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "x" * 60, "FUNDING_DEMO_POLICIES": "1", "ALLOWED_HOSTS": "a"}
    env["DJANGO_SETTINGS_MODULE"] = "valley.settings"
    code = "import django; django.setup(); from django.conf import settings; print(settings.FUNDING_DEMO_POLICIES)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_adding_it_twice_adds_one_version_and_keeps_the_current_limits(demo_policy):
    assert services.policy_add_demo(notice_minutes=2) == demo_policy
    assert services.policy_current() == demo_policy
    previous = FundPolicy.objects.exclude(pk=demo_policy.pk).latest()
    assert (demo_policy.min_amount, demo_policy.max_amount, demo_policy.notice_days) == (
        previous.min_amount,
        previous.max_amount,
        previous.notice_days,
    )


def test_a_grant_under_it_ends_its_notice_after_the_minutes_through_the_beat_task(demo_policy, application_in):
    before = timezone.now()
    application = application_in(S.PUBLIC_NOTICE)
    assert application.policy == demo_policy
    assert before + datetime.timedelta(minutes=2) <= application.notice_ends_at
    assert application.notice_ends_at <= timezone.now() + datetime.timedelta(minutes=2)
    assert application.notice_ends_on == timezone.localdate(application.notice_ends_at)

    assert "runs until" in _end_notice_problem(application)
    assert tasks.end_public_notices.apply().get() == []
    assert _state(application) == S.PUBLIC_NOTICE

    Application.objects.filter(pk=application.pk).update(notice_ends_at=timezone.now() - datetime.timedelta(seconds=1))
    assert _end_notice_problem(application) is None
    assert tasks.end_public_notices.apply().get() == [application.pk]
    assert _state(application) == S.REGISTRATION


def test_where_demo_policies_do_not_count_a_demo_version_gives_its_days(demo_policy, application_in, settings):
    # A demo version restored into a portal without FUNDING_DEMO_POLICIES shortens nothing.
    settings.FUNDING_DEMO_POLICIES = False
    application = application_in(S.PUBLIC_NOTICE)
    assert application.policy == demo_policy and application.notice_ends_at is None
    assert application.notice_ends_on == timezone.localdate() + datetime.timedelta(days=demo_policy.notice_days)
    assert "runs until" in _end_notice_problem(application)


def test_a_real_version_keeps_its_days(db, application_in):
    application = application_in(S.PUBLIC_NOTICE)
    assert not application.policy.is_demo and application.notice_ends_at is None
    assert application.notice_ends_on == timezone.localdate() + datetime.timedelta(days=application.policy.notice_days)


def test_admin_and_api_show_the_demo_notice(demo_policy, people, client):
    staff = people["finance"]
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    listing = client.get(reverse("admin:funding_fundpolicy_changelist"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "2 minutes' notice (demo)" in listing or "2 minutes&#x27; notice (demo)" in listing
    page = client.get(
        reverse("admin:funding_fundpolicy_change", args=[demo_policy.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "public notice (minutes, demo only)" in page.lower()
    adding = client.get(reverse("admin:funding_fundpolicy_add")).content.decode()
    assert 'name="notice_minutes"' not in adding and 'name="is_demo"' not in adding

    body = results(token_client(staff).get("/api/fund-policies/"))
    shown = next(row for row in body if row["id"] == demo_policy.pk)
    assert shown["is_demo"] is True and shown["notice_minutes"] == 2
    real = next(row for row in body if row["id"] != demo_policy.pk)
    assert real["is_demo"] is False and real["notice_minutes"] is None


def test_a_version_added_by_staff_after_the_demo_one_is_real(demo_policy, people, make_user):
    from valley.core import roles

    staff = make_user(roles.PROVINCIAL_STAFF, email="staff@example.cn")
    added = services.policy_change(
        by=staff,
        min_amount=demo_policy.min_amount,
        max_amount=demo_policy.max_amount,
        max_paid_in_share=demo_policy.max_paid_in_share,
        notice_days=5,
        reason="r",
    )
    assert not added.is_demo and added.notice_minutes is None


def test_the_final_acceptance_form_shows_its_date_filled_in_in_both_languages():
    # Found on the newcomer's walk: the date was rendered localised (2026/12/08), which a date input shows empty.
    from django.utils import translation

    from funding.forms import AcceptanceForm

    for language in ("zh-hans", "en"):
        with translation.override(language):
            html = str(AcceptanceForm(initial={"accepted_on": datetime.date(2026, 12, 8)})["accepted_on"])
        assert 'value="2026-12-08"' in html, html
