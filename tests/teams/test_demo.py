"""The demo valley's teams: members, achievements at every stage with histories, registered startups."""

import pytest
from django.core.management import call_command

from teams.demo import RESIDENCY_REQUESTS, TAIYUAN_ENTITY_COUNT
from teams.models import Achievement, Entity, Member, Registration, ResidencyRequest
from teams.uscc import validate_uscc


@pytest.fixture
def seeded(db, settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)


def test_every_entity_has_members_with_exactly_one_lead(seeded):
    entities = Entity.objects.all()
    # Taiyuan's 68, and the second demo applicant's three teams that asked for residency.
    assert entities.count() == TAIYUAN_ENTITY_COUNT + len(RESIDENCY_REQUESTS) == 71
    for entity in entities.prefetch_related("members"):
        members = list(entity.members.all())
        assert len(members) >= 2
        assert sum(member.is_lead for member in members) == 1
    assert Member.objects.count() >= 2 * 68


def test_achievements_cover_every_stage_with_a_consistent_dated_history(seeded):
    stages = set(Achievement.objects.values_list("stage", flat=True))
    assert stages == {stage.value for stage in Achievement.Stage}
    order = [stage.value for stage in Achievement.Stage]
    for achievement in Achievement.objects.prefetch_related("stage_changes"):
        history = list(achievement.stage_changes.all())
        assert [change.to_stage for change in history] == order[: order.index(achievement.stage) + 1]
        assert [change.from_stage for change in history] == ["", *order[: order.index(achievement.stage)]]
        dates = [change.changed_on for change in history]
        assert dates == sorted(dates)


def test_startups_are_registered_with_valid_codes(seeded):
    startups = Entity.objects.filter(kind=Entity.Kind.STARTUP)
    assert startups.count() == Registration.objects.count() > 0
    for registration in Registration.objects.all():
        validate_uscc(registration.uscc)
        assert registration.paid_in_capital <= registration.registered_capital


def test_the_demo_applicant_owns_an_entity_and_the_second_one_the_teams_asking_for_residency(seeded):
    assert Entity.objects.filter(owner__email="applicant@demo.valley.example.cn").count() == 1
    second = Entity.objects.filter(owner__email="applicant2@demo.valley.example.cn")
    assert second.count() == 3
    requests = ResidencyRequest.objects.filter(entity__in=second)
    assert sorted(requests.values_list("status", flat=True)) == ["declined", "selected", "submitted"]
    assert requests.get(status="selected").residency.status == "selected"
    assert requests.get(status="declined").decision_reason


def test_seeding_again_changes_no_teams_rows(seeded):
    models = (Entity, Member, Achievement, Registration, ResidencyRequest)
    counts = [model.objects.count() for model in models]
    history = list(Achievement.objects.order_by("pk").values_list("stage", flat=True))
    call_command("seed_demo", verbosity=0)
    assert [model.objects.count() for model in models] == counts
    assert list(Achievement.objects.order_by("pk").values_list("stage", flat=True)) == history


STAFF_PAGES = [
    "admin:teams_entity_changelist",
    "admin:teams_residency_changelist",
    "admin:teams_achievement_changelist",
    "admin:teams_registration_changelist",
    "admin:teams_document_changelist",
]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_demo_logins_reach_their_pages(client, seeded, language):
    from django.urls import reverse

    from valley.models import User

    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    applicant = User.objects.get(email="applicant@demo.valley.example.cn")
    client.force_login(applicant)
    entity = Entity.objects.get(owner=applicant)
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("teams:entity_list")).status_code == 200
    detail = client.get(entity.get_absolute_url())
    assert detail.status_code == 200 and entity.members.get(is_lead=True).name in detail.content.decode()

    operator = User.objects.get(email="operator@demo.valley.example.cn")
    staff = User.objects.get(email="staff@demo.valley.example.cn")
    # The operator sees Taiyuan's residents (68 entered, 1 just selected); provincial staff every team.
    for user, expected in [(operator, 69), (staff, 71)]:
        client.force_login(user)
        for page in STAFF_PAGES:
            assert client.get(reverse(page)).status_code == 200, (user, page)
        assert client.get(reverse("admin:teams_entity_changelist")).context["cl"].result_count == expected
        for model, pk in [("entity", entity.pk), ("achievement", entity.achievements.first().pk)]:
            assert client.get(reverse(f"admin:teams_{model}_change", args=[pk])).status_code == 200
    client.force_login(staff)
    registration = Registration.objects.first()
    assert client.get(reverse("admin:teams_registration_change", args=[registration.pk])).status_code == 200
    assert client.get(reverse("admin:teams_residency_add")).status_code == 200
