"""The staff admin: scoped lists, filters, search, autocomplete, and actions that go through the services."""

import json

import pytest
from django.urls import reverse

from teams.models import Achievement, AchievementStageChange, Entity, Residency
from tests.factories import AchievementFactory, InstitutionFactory, RegistrationFactory, SubVenueFactory, valid_uscc


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def two_venues(entity_factory, residency_factory):
    """Taiyuan with one resident entity, Datong with another, and one entity resident nowhere."""
    taiyuan, datong = (
        SubVenueFactory(code="taiyuan", name_en="Taiyuan"),
        SubVenueFactory(code="datong", name_en="Datong"),
    )
    in_taiyuan = residency_factory(entity=entity_factory(name_en="Taiyuan Team"), sub_venue=taiyuan).entity
    in_datong = residency_factory(entity=entity_factory(name_en="Datong Team"), sub_venue=datong).entity
    nowhere = entity_factory(name_en="Nowhere Team")
    return taiyuan, datong, in_taiyuan, in_datong, nowhere


@pytest.fixture
def operator(role_user, two_venues):
    user = role_user("sub_venue_operator")
    user.sub_venues.add(two_venues[0])
    return user


def _names(response):
    return {obj.name_en for obj in response.context["cl"].result_list}


def test_provincial_staff_see_every_entity(client, provincial_staff, two_venues):
    client.force_login(provincial_staff)
    response = client.get(reverse("admin:teams_entity_changelist"))
    assert _names(response) == {"Taiyuan Team", "Datong Team", "Nowhere Team"}


def test_an_operator_sees_and_changes_only_their_sub_venues_entities(client, operator, two_venues):
    _taiyuan, _datong, in_taiyuan, in_datong, nowhere = two_venues
    client.force_login(operator)
    assert _names(client.get(reverse("admin:teams_entity_changelist"))) == {"Taiyuan Team"}
    assert client.get(reverse("admin:teams_entity_change", args=[in_taiyuan.pk])).status_code == 200
    for other in (in_datong, nowhere):
        response = client.get(reverse("admin:teams_entity_change", args=[other.pk]))
        assert response.status_code == 302  # the admin's "does not exist" redirect to the index
    residencies = client.get(reverse("admin:teams_residency_changelist")).context["cl"].result_list
    assert {r.entity.name_en for r in residencies} == {"Taiyuan Team"}


def test_an_operator_autocompletes_only_their_entities(client, operator, two_venues):
    AchievementFactory(entity=two_venues[2])
    client.force_login(operator)
    response = client.get(
        reverse("admin:autocomplete"),
        {"term": "Team", "app_label": "teams", "model_name": "achievement", "field_name": "entity"},
    )
    assert response.status_code == 200
    assert [row["text"] for row in json.loads(response.content)["results"]] == [str(two_venues[2])]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"sub_venue": "taiyuan"}, {"Taiyuan Team"}),
        ({"residency": "entered"}, {"Taiyuan Team", "Datong Team"}),
        ({"residency": "none"}, {"Nowhere Team"}),
        ({"achievement_stage": "transformed"}, {"Datong Team"}),
        ({"q": "Datong"}, {"Datong Team"}),
        ({"q": "张三丰"}, {"Nowhere Team"}),
    ],
)
def test_filters_and_search(client, provincial_staff, two_venues, params, expected):
    taiyuan, _datong, in_taiyuan, in_datong, nowhere = two_venues
    AchievementFactory(entity=in_datong, stage="transformed")
    AchievementFactory(entity=in_taiyuan, stage="lab")
    nowhere.members.create(name="张三丰")
    if params.get("sub_venue") == "taiyuan":
        params = {"sub_venue": str(taiyuan.pk)}
    client.force_login(provincial_staff)
    response = client.get(reverse("admin:teams_entity_changelist"), params)
    assert _names(response) == expected


def test_institution_and_focus_area_filters(client, provincial_staff, entity_factory):
    chosen = InstitutionFactory(name_en="Shanxi University")
    entity_factory(institution=chosen, name_en="SXU Team")
    entity_factory(name_en="Other Team")
    client.force_login(provincial_staff)
    response = client.get(reverse("admin:teams_entity_changelist"), {"institution__id__exact": chosen.pk})
    assert _names(response) == {"SXU Team"}


def test_mark_as_resident_moves_selected_entities_in_and_explains_the_rest(
    client, provincial_staff, entity_factory, residency_factory
):
    selected = residency_factory(status="selected", entered_on=None).entity
    never_selected = entity_factory()
    client.force_login(provincial_staff)
    response = client.post(
        reverse("admin:teams_entity_changelist"),
        {"action": "mark_as_resident", "_selected_action": [selected.pk, never_selected.pk]},
        follow=True,
    )
    body = response.content.decode()
    assert "1 entities are now resident" in body
    assert "only entities selected into a sub-venue can become resident" in body
    residency = Residency.objects.get(entity=selected)
    assert residency.status == "entered" and residency.decided_by == provincial_staff


def test_staff_record_a_selection_in_the_admin(client, provincial_staff, entity_factory):
    entity, venue = entity_factory(), SubVenueFactory()
    client.force_login(provincial_staff)
    response = client.post(
        reverse("admin:teams_residency_add"),
        {"entity": entity.pk, "sub_venue": venue.pk, "selected_on": "2025-03-01", "note": "第二批遴选"},
    )
    assert response.status_code == 302
    residency = Residency.objects.get()
    assert (residency.status, residency.decided_by) == ("selected", provincial_staff)
    # A second active residency is a form error, not a 500.
    response = client.post(
        reverse("admin:teams_residency_add"),
        {"entity": entity.pk, "sub_venue": SubVenueFactory().pk, "selected_on": "2025-03-02"},
    )
    assert response.status_code == 200 and Residency.objects.count() == 1


def test_an_operator_cannot_select_into_another_sub_venue(client, operator, two_venues, entity_factory):
    _taiyuan, datong, *_ = two_venues
    client.force_login(operator)
    response = client.post(
        reverse("admin:teams_residency_add"),
        {"entity": entity_factory().pk, "sub_venue": datong.pk, "selected_on": "2025-03-01"},
    )
    assert response.status_code == 200
    assert "sub_venue" in response.context["adminform"].form.errors


def test_a_stage_change_in_the_admin_leaves_a_history_row(client, provincial_staff, entity_factory):
    achievement = AchievementFactory(entity=entity_factory())
    client.force_login(provincial_staff)
    response = client.post(
        reverse("admin:teams_achievement_changelist"), {"action": "advance_stage", "_selected_action": [achievement.pk]}
    )
    assert response.status_code == 302
    achievement.refresh_from_db()
    assert achievement.stage == "pilot"
    change = AchievementStageChange.objects.get()
    assert (change.from_stage, change.to_stage, change.changed_by) == ("lab", "pilot", provincial_staff)


def test_a_registration_with_a_bad_code_is_refused_with_a_message(client, role_user, entity_factory):
    officer = role_user("registration_officer")
    entity = entity_factory()
    client.force_login(officer)
    data = {
        "entity": entity.pk,
        "company_name": "山西晋创科技有限公司",
        "uscc": "91140105MA0K12345X",
        "registered_on": "2025-01-02",
        "registered_capital": "1000000.00",
        "paid_in_capital": "200000.00",
        "legal_representative": "王建国",
    }
    response = client.post(reverse("admin:teams_registration_add"), data)
    assert response.status_code == 200
    assert "check" in response.context["adminform"].form.errors["uscc"][0]
    data["uscc"] = valid_uscc("91140105MA0K12345")
    assert client.post(reverse("admin:teams_registration_add"), data).status_code == 302
    entity.refresh_from_db()
    assert entity.kind == Entity.Kind.STARTUP and entity.registration.verified_by == officer


def test_operators_do_not_record_registrations(client, operator):
    client.force_login(operator)
    assert client.get(reverse("admin:teams_registration_add")).status_code == 403


def test_the_auditor_reads_the_admin_lists_but_changes_nothing(client, auditor, two_venues):
    RegistrationFactory()
    client.force_login(auditor)
    assert len(_names(client.get(reverse("admin:teams_entity_changelist")))) == 4
    assert client.get(reverse("admin:teams_residency_add")).status_code == 403
    assert Achievement.objects.count() == 0


def test_staff_see_the_owner_but_only_superusers_change_it(client, provincial_staff, entity_factory, applicant):
    entity = entity_factory(owner=applicant)
    client.force_login(provincial_staff)
    response = client.get(reverse("admin:teams_entity_change", args=[entity.pk]))
    assert response.status_code == 200
    assert "owner" not in response.context["adminform"].form.fields
    assert applicant.email in response.content.decode()


def test_an_operator_finds_candidates_and_selects_one_into_their_sub_venue(client, operator, two_venues):
    taiyuan, _datong, _in_taiyuan, _in_datong, nowhere = two_venues
    client.force_login(operator)
    response = client.get(
        reverse("admin:autocomplete"),
        {"term": "Team", "app_label": "teams", "model_name": "residency", "field_name": "entity"},
    )
    assert [row["text"] for row in json.loads(response.content)["results"]] == [str(nowhere)]
    response = client.post(
        reverse("admin:teams_residency_add"),
        {"entity": nowhere.pk, "sub_venue": taiyuan.pk, "selected_on": "2025-03-01"},
    )
    assert response.status_code == 302
    assert Residency.objects.get(entity=nowhere).decided_by == operator
    # Now resident in Taiyuan, the entity is in the operator's list.
    assert "Nowhere Team" in _names(client.get(reverse("admin:teams_entity_changelist")))


def test_a_selection_lost_to_a_concurrent_one_is_a_message_not_an_error_page(client, provincial_staff, entity_factory):
    from unittest import mock

    from teams import services

    entity, venue = entity_factory(), SubVenueFactory()
    client.force_login(provincial_staff)
    lost = services.WrongState("This entity already has an active residency.")
    with mock.patch.object(services, "residency_select", side_effect=lost):
        response = client.post(
            reverse("admin:teams_residency_add"),
            {"entity": entity.pk, "sub_venue": venue.pk, "selected_on": "2025-03-01"},
            follow=True,
        )
    assert response.status_code == 200
    assert "already has an active residency" in response.content.decode()
    assert not Residency.objects.exists()


def test_the_residency_actions_go_through_the_services_and_are_audited(client, provincial_staff, residency_factory):
    from valley.models import AuditEntry

    entered, selected = residency_factory(status="entered"), residency_factory(status="selected", entered_on=None)
    client.force_login(provincial_staff)
    response = client.post(
        reverse("admin:teams_residency_changelist"),
        {"action": "mark_graduated", "_selected_action": [entered.pk, selected.pk]},
        follow=True,
    )
    body = response.content.decode()
    assert "1 residencies marked as graduated" in body and "Only an entity that entered" in body
    assert Residency.objects.get(pk=entered.pk).status == "graduated"
    assert Residency.objects.get(pk=selected.pk).status == "selected"
    assert list(AuditEntry.objects.filter(action__startswith="teams.").values_list("action", "object_id")) == [
        ("teams.residency.graduated", str(entered.pk))
    ]


def test_only_staff_who_change_residencies_are_offered_the_actions(client, role_user, provincial_staff):
    url = reverse("admin:teams_residency_changelist")
    client.force_login(role_user("reviewer"))  # reads residencies; valley/core/roles.py gives them no change
    assert client.get(url).context["action_form"] is None
    client.force_login(provincial_staff)
    choices = dict(client.get(url).context["action_form"].fields["action"].choices)
    assert {"mark_entered", "mark_graduated", "mark_exited"} <= set(choices)


def test_a_note_edited_in_the_admin_is_audited(client, provincial_staff, residency_factory):
    from valley.models import AuditEntry

    residency = residency_factory(note="旧")
    client.force_login(provincial_staff)
    response = client.post(reverse("admin:teams_residency_change", args=[residency.pk]), {"note": "新"})
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="teams.residency.changed")
    assert (entry.object_id, entry.before, entry.after, entry.actor) == (
        str(residency.pk),
        {"note": "旧"},
        {"note": "新"},
        provincial_staff,
    )


def test_a_superuser_deleting_a_residency_in_the_admin_is_audited(client, make_user, residency_factory):
    from valley.models import AuditEntry

    residency = residency_factory()
    superuser = make_user(is_superuser=True)
    superuser.is_staff = True
    superuser.save()
    client.force_login(superuser)
    response = client.post(reverse("admin:teams_residency_delete", args=[residency.pk]), {"post": "yes"})
    assert response.status_code == 302 and not Residency.objects.exists()
    entry = AuditEntry.objects.get(action="teams.residency.deleted")
    assert (entry.object_id, entry.before["status"], entry.actor) == (str(residency.pk), "entered", superuser)
