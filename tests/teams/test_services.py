"""The teams services: who may change what, the states things move through, and the history they leave."""

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from teams import services
from teams.models import Achievement, AchievementStageChange, Entity, Member, Registration, Residency
from tests.factories import AchievementFactory, MemberFactory, RegistrationFactory, SubVenueFactory, valid_uscc

TODAY = timezone.localdate()


@pytest.fixture(autouse=True)
def in_english():
    """Messages are matched in English here; the Chinese catalogue is checked by test_translations."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def confirmed_applicant(applicant):
    applicant.email_confirmed_at = timezone.now()
    applicant.save()
    return applicant


def _create(owner, **overrides):
    from tests.factories import FocusAreaFactory, InstitutionFactory

    data = {
        "kind": Entity.Kind.RESEARCH_TEAM,
        "name_zh": "氢能储运研究团队",
        "name_en": "Hydrogen Storage Research Team",
        "institution": InstitutionFactory(),
        "focus_area": FocusAreaFactory(),
        **overrides,
    }
    return services.entity_create(owner=owner, **data)


def test_a_confirmed_applicant_creates_an_entity_they_own(confirmed_applicant):
    entity = _create(confirmed_applicant)
    assert entity.owner == confirmed_applicant
    assert entity.contact_email == confirmed_applicant.email


def test_an_unconfirmed_applicant_cannot_create_an_entity(applicant):
    with pytest.raises(services.NotAllowed, match="Confirm your e-mail"):
        _create(applicant)
    assert not Entity.objects.exists()


def test_an_auditor_cannot_create_an_entity(auditor):
    auditor.email_confirmed_at = timezone.now()
    with pytest.raises(services.NotAllowed):
        _create(auditor)


def test_only_the_owner_or_staff_may_update(entity_factory, applicant, other_applicant, provincial_staff, auditor):
    entity = entity_factory(owner=applicant)
    services.entity_update(entity=entity, by=applicant, summary="新的简介")
    services.entity_update(entity=entity, by=provincial_staff, summary="由工作人员修改")
    for intruder in (other_applicant, auditor):
        with pytest.raises(services.NotAllowed):
            services.entity_update(entity=entity, by=intruder, summary="x")
    entity.refresh_from_db()
    assert entity.summary == "由工作人员修改"


def test_a_registered_startup_cannot_turn_back_into_a_team(applicant):
    registration = RegistrationFactory(entity__owner=applicant)
    with pytest.raises(services.WrongState):
        services.entity_update(entity=registration.entity, by=applicant, kind=Entity.Kind.RESEARCH_TEAM)


def test_there_is_one_lead_and_naming_a_new_one_moves_the_mark(entity_factory, applicant):
    entity = entity_factory(owner=applicant)
    first = services.member_add(entity=entity, by=applicant, name="王建国", is_lead=True)
    second = services.member_add(entity=entity, by=applicant, name="李海燕", is_lead=True)
    assert list(Member.objects.filter(is_lead=True)) == [second]
    services.member_update(member=first, by=applicant, is_lead=True)
    assert list(Member.objects.filter(is_lead=True)) == [first]


def test_the_database_refuses_two_leads(entity_factory):
    entity = entity_factory()
    MemberFactory(entity=entity, is_lead=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.create(entity=entity, name="x", is_lead=True)


def test_an_achievement_starts_its_history_at_its_stage(entity_factory, applicant):
    entity = entity_factory(owner=applicant)
    day = TODAY - datetime.timedelta(days=30)
    achievement = services.achievement_create(
        entity=entity, by=applicant, title="钠离子电池正极材料", kind="patent", stage="pilot", on=day
    )
    (change,) = achievement.stage_changes.all()
    assert (change.from_stage, change.to_stage, change.changed_on, change.changed_by) == ("", "pilot", day, applicant)


def test_stages_move_forward_with_a_dated_history(entity_factory, applicant):
    achievement = services.achievement_create(
        entity=entity_factory(owner=applicant), by=applicant, title="t", kind="patent", on=TODAY - datetime.timedelta(9)
    )
    services.achievement_change_stage(
        achievement=achievement, to_stage="pilot", on=TODAY - datetime.timedelta(5), by=applicant
    )
    services.achievement_change_stage(achievement=achievement, to_stage="transformed", on=TODAY, by=applicant)
    achievement.refresh_from_db()
    assert achievement.stage == "transformed"
    history = list(achievement.stage_changes.values_list("from_stage", "to_stage"))
    assert history == [("", "lab"), ("lab", "pilot"), ("pilot", "transformed")]


@pytest.mark.parametrize(
    ("to_stage", "on", "message"),
    [
        ("lab", TODAY, "already at this stage"),
        ("transformed", TODAY + datetime.timedelta(days=1), "future"),
        ("transformed", TODAY - datetime.timedelta(days=100), "before the previous stage change"),
        ("nonsense", TODAY, "Choose one of the stages"),
    ],
)
def test_a_wrong_stage_change_says_why_and_leaves_no_history(entity_factory, applicant, to_stage, on, message):
    achievement = services.achievement_create(
        entity=entity_factory(owner=applicant), by=applicant, title="t", kind="patent", on=TODAY - datetime.timedelta(9)
    )
    from django.utils import translation

    with translation.override("en"), pytest.raises(services.WrongState, match=message):
        services.achievement_change_stage(achievement=achievement, to_stage=to_stage, on=on, by=applicant)
    assert AchievementStageChange.objects.count() == 1


def test_applicants_cannot_move_a_stage_back_but_staff_can_correct_it(entity_factory, applicant, provincial_staff):
    achievement = AchievementFactory(entity=entity_factory(owner=applicant), stage="incubation")
    with pytest.raises(services.WrongState, match="forward"):
        services.achievement_change_stage(achievement=achievement, to_stage="lab", on=TODAY, by=applicant)
    services.achievement_change_stage(achievement=achievement, to_stage="pilot", on=TODAY, by=provincial_staff)
    assert Achievement.objects.get().stage == "pilot"


def test_another_applicant_cannot_touch_members_or_achievements(entity_factory, applicant, other_applicant):
    entity = entity_factory(owner=applicant)
    member = MemberFactory(entity=entity)
    achievement = AchievementFactory(entity=entity)
    calls = [
        lambda: services.member_add(entity=entity, by=other_applicant, name="x"),
        lambda: services.member_update(member=member, by=other_applicant, name="x"),
        lambda: services.member_remove(member=member, by=other_applicant),
        lambda: services.achievement_create(entity=entity, by=other_applicant, title="x", kind="patent"),
        lambda: services.achievement_update(achievement=achievement, by=other_applicant, title="x", kind="patent"),
        lambda: services.achievement_change_stage(
            achievement=achievement, to_stage="pilot", on=TODAY, by=other_applicant
        ),
    ]
    for call in calls:
        with pytest.raises(services.NotAllowed):
            call()


# --- residency --------------------------------------------------------------------------------------


def test_staff_select_and_admit_an_entity(entity_factory, provincial_staff):
    entity, venue = entity_factory(), SubVenueFactory()
    residency = services.residency_select(entity=entity, sub_venue=venue, by=provincial_staff, on=TODAY)
    assert (residency.status, residency.decided_by) == ("selected", provincial_staff)
    residency = services.residency_enter(residency=residency, by=provincial_staff, on=TODAY)
    assert (residency.status, residency.entered_on) == ("entered", TODAY)
    residency = services.residency_end(residency=residency, by=provincial_staff, status="graduated", on=TODAY)
    assert (residency.status, residency.ended_on) == ("graduated", TODAY)
    # Once it has ended, the entity may be selected again.
    services.residency_select(entity=entity, sub_venue=venue, by=provincial_staff, on=TODAY)
    assert Residency.objects.filter(entity=entity).count() == 2


def test_applicants_cannot_record_residency_decisions(entity_factory, applicant):
    entity = entity_factory(owner=applicant)
    with pytest.raises(services.NotAllowed, match="staff"):
        services.residency_select(entity=entity, sub_venue=SubVenueFactory(), by=applicant)
    assert not Residency.objects.exists()


def test_one_active_residency_at_a_time(entity_factory, provincial_staff):
    entity = entity_factory()
    services.residency_select(entity=entity, sub_venue=SubVenueFactory(), by=provincial_staff)
    with pytest.raises(services.WrongState, match="already has an active residency"):
        services.residency_select(entity=entity, sub_venue=SubVenueFactory(), by=provincial_staff)
    with pytest.raises(IntegrityError), transaction.atomic():
        Residency.objects.create(entity=entity, sub_venue=SubVenueFactory(), selected_on=TODAY)


def test_operators_decide_only_for_their_own_sub_venues(entity_factory, role_user):
    operator = role_user("sub_venue_operator")
    own, other = SubVenueFactory(), SubVenueFactory()
    operator.sub_venues.add(own)
    with pytest.raises(services.NotAllowed, match="sub-venues you operate"):
        services.residency_select(entity=entity_factory(), sub_venue=other, by=operator)
    services.residency_select(entity=entity_factory(), sub_venue=own, by=operator)


def test_residency_state_rules(entity_factory, provincial_staff, residency_factory):
    entered = residency_factory(status="entered")
    with pytest.raises(services.WrongState, match="Only a selected entity can enter"):
        services.residency_enter(residency=entered, by=provincial_staff)
    selected = residency_factory(status="selected", entered_on=None)
    with pytest.raises(services.WrongState, match="Only an entity that entered"):
        services.residency_end(residency=selected, by=provincial_staff, status="graduated")
    services.residency_end(residency=selected, by=provincial_staff, status="exited", note="主动退出")
    with pytest.raises(services.WrongState, match="already ended"):
        services.residency_end(residency=selected, by=provincial_staff, status="exited")


# --- registration -----------------------------------------------------------------------------------


def test_a_registration_officer_registers_a_team_which_becomes_a_startup(entity_factory, role_user):
    officer = role_user("registration_officer")
    team = entity_factory(kind=Entity.Kind.RESEARCH_TEAM)
    registration = services.registration_record(
        entity=team,
        by=officer,
        company_name="山西晋创氢能科技有限公司",
        uscc=valid_uscc("91140105MA0K12345"),
        registered_on=TODAY,
        registered_capital=Decimal("2000000.00"),
        paid_in_capital=Decimal("500000.00"),
        legal_representative="赵磊",
    )
    team.refresh_from_db()
    assert team.kind == Entity.Kind.STARTUP and registration.verified_by == officer


@pytest.mark.parametrize(
    ("uscc", "paid_in", "message"),
    [
        ("91140105MA0K123450", Decimal("1"), "check"),
        (valid_uscc("91140105MA0K12345"), Decimal("3000000.00"), "cannot exceed"),
    ],
)
def test_a_bad_registration_is_refused_with_a_message(entity_factory, role_user, uscc, paid_in, message):
    from django.utils import translation

    officer = role_user("registration_officer")
    with translation.override("en"), pytest.raises(services.WrongState, match=message):
        services.registration_record(
            entity=entity_factory(),
            by=officer,
            company_name="x",
            uscc=uscc,
            registered_on=TODAY,
            registered_capital=Decimal("2000000.00"),
            paid_in_capital=paid_in,
            legal_representative="x",
        )
    assert not Registration.objects.exists()


def test_applicants_and_operators_do_not_record_registrations(entity_factory, applicant, role_user):
    for user in (applicant, role_user("sub_venue_operator")):
        with pytest.raises(services.NotAllowed):
            services.registration_record(
                entity=entity_factory(owner=applicant),
                by=user,
                company_name="x",
                uscc=valid_uscc("91140105MA0K12345"),
                registered_on=TODAY,
                registered_capital=Decimal("1.00"),
                paid_in_capital=Decimal("1.00"),
                legal_representative="x",
            )


# --- transitions by the tables of teams/workflow.py: behaviour, history and audit entries -------------


def _entries(action, obj):
    from valley.models import AuditEntry

    return list(AuditEntry.objects.filter(action=action, object_id=str(obj.pk)).order_by("id"))


def test_each_residency_decision_records_its_audit_entry(entity_factory, provincial_staff):
    entity, venue = entity_factory(), SubVenueFactory()
    residency = services.residency_select(
        entity=entity, sub_venue=venue, by=provincial_staff, on=TODAY - datetime.timedelta(days=3)
    )
    (created,) = _entries("teams.residency.created", residency)
    assert (created.actor, created.object_type) == (provincial_staff, "teams.residency")
    assert created.after["status"] == "selected" and created.after["sub_venue_id"] == venue.pk
    services.residency_enter(residency=residency, by=provincial_staff, on=TODAY - datetime.timedelta(days=1))
    (entered,) = _entries("teams.residency.entered", residency)
    assert entered.before == {"status": "selected", "entered_on": None}
    assert entered.after == {"status": "entered", "entered_on": str(TODAY - datetime.timedelta(days=1))}
    services.residency_end(residency=residency, by=provincial_staff, status="graduated", on=TODAY, note="毕业")
    (graduated,) = _entries("teams.residency.graduated", residency)
    assert graduated.actor == provincial_staff
    assert graduated.after == {"status": "graduated", "ended_on": str(TODAY), "note": "毕业"}


def test_exiting_a_selected_residency_is_recorded(provincial_staff, residency_factory):
    residency = residency_factory(status="selected", entered_on=None)
    services.residency_end(residency=residency, by=provincial_staff, status="exited", on=TODAY)
    residency.refresh_from_db()
    assert (residency.status, residency.ended_on, residency.decided_by) == ("exited", TODAY, provincial_staff)
    (exited,) = _entries("teams.residency.exited", residency)
    assert exited.before["status"] == "selected" and exited.after["decided_by_id"] == provincial_staff.pk


def test_a_refused_residency_decision_changes_nothing_and_records_nothing(provincial_staff, residency_factory):
    from valley.models import AuditEntry

    entered = residency_factory(status="entered")
    count = AuditEntry.objects.count()
    with pytest.raises(services.WrongState, match="Only a selected entity can enter"):
        services.residency_enter(residency=entered, by=provincial_staff)
    with pytest.raises(services.WrongState, match="before the residency began"):
        services.residency_end(
            residency=entered, by=provincial_staff, status="exited", on=entered.entered_on - datetime.timedelta(1)
        )
    with pytest.raises(services.WrongState, match="graduated or exited"):
        services.residency_end(residency=entered, by=provincial_staff, status="selected")
    assert AuditEntry.objects.count() == count
    assert Residency.objects.get(pk=entered.pk).status == "entered"


def test_an_entry_date_before_the_selection_is_refused(provincial_staff, residency_factory):
    selected = residency_factory(status="selected", entered_on=None)
    with pytest.raises(services.WrongState, match="before the selection date"):
        services.residency_enter(
            residency=selected, by=provincial_staff, on=selected.selected_on - datetime.timedelta(days=1)
        )
    assert Residency.objects.get(pk=selected.pk).status == "selected"


def test_forbidden_and_wrong_state_are_the_one_vocabulary(
    entity_factory, role_user, residency_factory, provincial_staff
):
    from valley.core import errors

    selected = residency_factory(status="selected", entered_on=None)
    for outsider in (role_user("reviewer"), role_user("finance_officer"), role_user("auditor")):
        with pytest.raises(services.NotAllowed) as refused:
            services.residency_enter(residency=selected, by=outsider)
        assert isinstance(refused.value, errors.Forbidden)
    with pytest.raises(services.NotAllowed, match="staff"):
        services.residency_select(entity=entity_factory(), sub_venue=SubVenueFactory(), by=role_user("reviewer"))
    with pytest.raises(services.WrongState) as wrong:
        services.residency_end(
            residency=residency_factory(status="exited", ended_on=TODAY), by=provincial_staff, status="exited"
        )
    assert isinstance(wrong.value, errors.WrongState) and not isinstance(wrong.value, errors.Forbidden)
    assert Residency.objects.get(pk=selected.pk).status == "selected"


def test_an_operator_takes_transitions_only_in_their_own_sub_venues(role_user, residency_factory):
    operator = role_user("sub_venue_operator")
    own, other = residency_factory(status="selected", entered_on=None), residency_factory(status="selected")
    operator.sub_venues.add(own.sub_venue)
    with pytest.raises(services.NotAllowed, match="sub-venues you operate"):
        services.residency_end(residency=other, by=operator, status="exited")
    services.residency_enter(residency=own, by=operator, on=TODAY)
    assert Residency.objects.get(pk=own.pk).status == "entered"
    assert Residency.objects.get(pk=other.pk).status == "selected"


def test_a_residency_note_change_is_recorded(provincial_staff, residency_factory, applicant):
    residency = residency_factory(note="旧备注")
    with pytest.raises(services.NotAllowed):
        services.residency_update_note(residency=residency, by=applicant, note="x")
    services.residency_update_note(residency=residency, by=provincial_staff, note="新备注")
    (changed,) = _entries("teams.residency.changed", residency)
    assert (changed.before, changed.after) == ({"note": "旧备注"}, {"note": "新备注"})


def test_saving_a_teams_record_directly_records_nothing(residency_factory):
    """No save() signal audits teams: the services record their entries."""
    from valley.models import AuditEntry

    residency = residency_factory()
    RegistrationFactory()
    residency.note = "x"
    residency.save()
    assert not AuditEntry.objects.filter(action__startswith="teams.").exists()


def test_a_stage_change_leaves_a_history_row_and_an_audit_entry(entity_factory, applicant):
    achievement = services.achievement_create(
        entity=entity_factory(owner=applicant), by=applicant, title="t", kind="patent", on=TODAY - datetime.timedelta(9)
    )
    change = services.achievement_change_stage(
        achievement=achievement, to_stage="incubation", on=TODAY, by=applicant, note="跳过中试"
    )
    assert (change.from_stage, change.to_stage, change.changed_by) == ("lab", "incubation", applicant)
    (entry,) = _entries("teams.achievement.stage_changed", achievement)
    assert (entry.actor, entry.object_type) == (applicant, "teams.achievement")
    assert entry.before == {"stage": "lab"}
    assert entry.after == {
        "stage": "incubation",
        "transition": "advance_to_incubation",
        "changed_on": str(TODAY),
        "note": "跳过中试",
    }


def test_a_staff_correction_is_recorded_as_a_correction(entity_factory, applicant, role_user):
    operator = role_user("sub_venue_operator")
    entity = entity_factory(owner=applicant)
    achievement = AchievementFactory(entity=entity, stage="transformed")
    from tests.factories import ResidencyFactory

    operator.sub_venues.add(ResidencyFactory(entity=entity).sub_venue)
    services.achievement_change_stage(achievement=achievement, to_stage="pilot", on=TODAY, by=operator)
    (entry,) = _entries("teams.achievement.stage_changed", achievement)
    assert (entry.before, entry.after["stage"], entry.after["transition"]) == (
        {"stage": "transformed"},
        "pilot",
        "correct_to_pilot",
    )
    assert AchievementStageChange.objects.get(achievement=achievement).changed_by == operator


def test_a_refused_stage_change_records_nothing(entity_factory, applicant):
    achievement = AchievementFactory(entity=entity_factory(owner=applicant), stage="incubation")
    with pytest.raises(services.WrongState, match="forward"):
        services.achievement_change_stage(achievement=achievement, to_stage="pilot", on=TODAY, by=applicant)
    assert not _entries("teams.achievement.stage_changed", achievement)
    assert not AchievementStageChange.objects.exists()


def _register(entity, by, **overrides):
    data = {
        "company_name": "山西晋创氢能科技有限公司",
        "uscc": valid_uscc("91140105MA0K12345"),
        "registered_on": TODAY,
        "registered_capital": Decimal("2000000.00"),
        "paid_in_capital": Decimal("500000.00"),
        "legal_representative": "赵磊",
        **overrides,
    }
    return services.registration_record(entity=entity, by=by, **data)


def test_a_registration_records_its_creation_then_its_changes(entity_factory, role_user):
    officer = role_user("registration_officer")
    registration = _register(entity_factory(), officer)
    (created,) = _entries("teams.registration.created", registration)
    assert created.actor == officer and created.after["paid_in_capital"] == "500000.00"
    _register(registration.entity, officer, paid_in_capital=Decimal("800000"))
    (changed,) = _entries("teams.registration.changed", registration)
    assert changed.before["paid_in_capital"] == "500000.00" and changed.after["paid_in_capital"] == "800000.00"
    assert Registration.objects.count() == 1


def test_only_a_superuser_deletes_a_decision_and_the_log_keeps_it(residency_factory, provincial_staff, make_user):
    residency = residency_factory()
    with pytest.raises(services.NotAllowed):
        services.residency_delete(residency=residency, by=provincial_staff)
    admin = make_user(is_superuser=True)
    pk = residency.pk
    services.residency_delete(residency=residency, by=admin)
    assert not Residency.objects.filter(pk=pk).exists()
    (deleted,) = _entries("teams.residency.deleted", SimpleNamespace(pk=pk))
    assert deleted.actor == admin and deleted.before["status"] == "entered"
