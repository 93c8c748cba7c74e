from django.apps import apps
from django.core.management import call_command

from teams.models import Entity, Residency
from valley.models import SubVenue


def table_counts():
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in {"valley", "teams", "funding", "tolerance", "auth"}
    }


def test_seeding_twice_leaves_identical_counts(db, settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    first = table_counts()
    call_command("seed_demo", verbosity=0)
    assert table_counts() == first
    assert first["teams.Entity"] >= 68


def test_taiyuan_has_68_entities_from_the_five_named_institutions(db, settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    taiyuan = SubVenue.objects.get(code="taiyuan")
    # Entered: the demo's one freshly selected team (teams.demo.RESIDENCY_REQUESTS) has not moved in yet.
    in_taiyuan = Entity.objects.filter(residencies__sub_venue=taiyuan, residencies__status=Residency.Status.ENTERED)
    assert in_taiyuan.count() == 68
    assert set(in_taiyuan.values_list("institution__name_en", flat=True).distinct()) == {
        "Institute of Coal Chemistry, Chinese Academy of Sciences",
        "Shanxi University",
        "Taiyuan University of Technology",
        "North University of China",
        "Taiyuan University of Science and Technology",
    }
    assert set(SubVenue.objects.values_list("city_en", flat=True)) == {
        "Taiyuan",
        "Datong",
        "Xinzhou",
        "Jincheng",
        "Lüliang",
    }


def test_seeding_refuses_production_without_the_flag(db, settings):
    import pytest
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="allow-production"):
        call_command("seed_demo", verbosity=0)


def test_demo_people_have_accepted_the_privacy_notice_in_force(db, settings):
    """A newcomer trying the demo is not greeted by "the privacy notice has changed" on every page."""
    from valley.demo import DEMO_USERS, demo_email
    from valley.models import User
    from valley.privacy.services import consent_due

    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    assert [local for _role, local, *_ in DEMO_USERS if consent_due(User.objects.get(email=demo_email(local)))] == []


def test_the_demo_holds_an_application_in_every_state_of_the_workflow_under_the_short_notice_policy(db, settings):
    """Every state funding.workflow knows, every state of a fund-use report, and a current demo policy whose
    notice lasts minutes; the demo grant on public notice keeps a notice of days, so the worker does not end it
    before a newcomer looks."""
    from django.utils import timezone

    from funding import services
    from funding.demo import DEMO_NOTICE_MINUTES, DEMO_PREFIX
    from funding.models import Application, FundUseReport
    from funding.workflow import REPORT_WORKFLOW, WORKFLOW

    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    demo = Application.objects.filter(purpose__startswith=DEMO_PREFIX)
    states = set(demo.values_list("state", flat=True))
    assert states == set(Application.State.values)
    assert {s for t in WORKFLOW.transitions.values() for s in (*t.sources, t.target)} <= states
    reports = set(FundUseReport.objects.filter(application__in=demo).values_list("state", flat=True))
    assert {s for t in REPORT_WORKFLOW.transitions.values() for s in (*t.sources, t.target)} <= reports

    policy = services.policy_current()
    assert policy.is_demo and policy.notice_minutes == DEMO_NOTICE_MINUTES
    on_notice = demo.get(state=Application.State.PUBLIC_NOTICE)
    assert on_notice.policy == policy and on_notice.notice_ends_at is None
    assert on_notice.notice_ends_on > timezone.localdate()
