"""Writes for the teams app: one function per change, each in a transaction, with history rows.

Views, admin actions and (later) the API call these, so every door enforces the same rules.
Callers have already found the object through a scoped selector (so it exists for them); these
functions check the *right* to change it and the *state* it is in, and raise `TeamsError`
subclasses with a translated message the door shows the user. Residency and achievement stages move
by the tables in teams/workflow.py, checked under a row lock; every change of a residency or a
registration, and every stage change, records its audit entry here, in the same transaction.
"""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from teams import workflow
from teams.models import Achievement, AchievementStageChange, Document, Entity, Member, Registration, Residency
from teams.selectors import entity_has_active_residency, user_may_edit_entity
from teams.uscc import validate_uscc
from valley import audit
from valley.core import documents, errors, roles, scoping
from valley.core.workflow import TransitionForbidden, TransitionNotAllowed, Workflow
from valley.models import FocusArea, Institution, SubVenue

STAGE_ORDER = list(Achievement.Stage.values)


class TeamsError(errors.DomainError):
    """A rule of the teams domain was broken; `message` is translated and meant for the user."""


class NotAllowed(TeamsError, errors.Forbidden):
    """The person may not make this change (a role, ownership or sub-venue question)."""


class WrongState(TeamsError, errors.WrongState):
    """The record is not in a state that allows this change."""


def _require_editor(by, entity: Entity) -> None:
    if not user_may_edit_entity(by, entity):
        raise NotAllowed(_("You may not change this team or startup."))


def _check(machine: Workflow, name: str, obj, by):
    """The table's check (role, then state, then guard), answered in this app's errors."""
    try:
        return machine.check(name, obj, by)
    except TransitionForbidden as error:
        raise NotAllowed(error.message) from error
    except TransitionNotAllowed as error:
        raise WrongState(error.message) from error


def _require_decider(by) -> None:
    """Selecting an entity (no transition leads to "selected": a new residency is born there)."""
    if not roles.has_role(by, *workflow.DECIDERS):
        raise NotAllowed(_("Only valley staff record residency decisions."))


def _require_sub_venue(by, sub_venue_id: int) -> None:
    """Operators decide only for their own sub-venues."""
    if not scoping.may_work_on_sub_venue(by, sub_venue_id):
        raise NotAllowed(_("You may record decisions only for the sub-venues you operate."))


# --- entities -------------------------------------------------------------------------------------

ENTITY_FIELDS = ("kind", "name_zh", "name_en", "institution", "focus_area", "summary", "contact_email")


@transaction.atomic
def entity_create(
    *,
    owner,
    kind: str,
    name_zh: str,
    name_en: str,
    institution: Institution,
    focus_area: FocusArea,
    summary: str = "",
    contact_email: str = "",
) -> Entity:
    """An applicant creates their own team or startup profile. Their e-mail must be confirmed first."""
    if roles.is_auditor(owner):
        raise NotAllowed(_("Auditors read records; they do not create them."))
    if owner.email_confirmed_at is None:
        raise NotAllowed(_("Confirm your e-mail address first: open the link in the mail we sent you, then try again."))
    entity = Entity(
        owner=owner,
        kind=kind,
        name_zh=name_zh,
        name_en=name_en,
        institution=institution,
        focus_area=focus_area,
        summary=summary,
        contact_email=contact_email or owner.email,
    )
    entity.full_clean()
    entity.save()
    return entity


@transaction.atomic
def entity_update(*, entity: Entity, by, **fields) -> Entity:
    """Change the profile fields in `fields` (only those of ENTITY_FIELDS)."""
    _require_editor(by, entity)
    unknown = set(fields) - set(ENTITY_FIELDS)
    if unknown:
        raise TypeError(f"entity_update() cannot change {sorted(unknown)}")
    if fields.get("kind") == Entity.Kind.RESEARCH_TEAM and Registration.objects.filter(entity=entity).exists():
        raise WrongState(_("A registered startup cannot become a research team again."))
    for name, value in fields.items():
        setattr(entity, name, value)
    entity.full_clean()
    entity.save(update_fields=[*fields, "updated_at"])
    return entity


# --- members --------------------------------------------------------------------------------------

MEMBER_FIELDS = ("name", "role", "email", "phone", "is_lead")


def _clear_other_leads(entity: Entity, keep: Member | None) -> None:
    # Lock the entity, not only the current lead: with no lead yet there would be no row to lock,
    # and two people naming a lead at once would both pass.
    Entity.objects.select_for_update().filter(pk=entity.pk).first()
    leads = Member.objects.filter(entity=entity, is_lead=True)
    if keep is not None and keep.pk:
        leads = leads.exclude(pk=keep.pk)
    leads.update(is_lead=False)


@transaction.atomic
def member_add(
    *, entity: Entity, by, name: str, role: str = "", email: str = "", phone: str = "", is_lead: bool = False
) -> Member:
    """Add a member; marking them as the lead takes the mark from the previous lead."""
    _require_editor(by, entity)
    if is_lead:
        _clear_other_leads(entity, None)
    member = Member(entity=entity, name=name, role=role, email=email, phone=phone, is_lead=is_lead)
    member.full_clean()
    member.save()
    return member


@transaction.atomic
def member_update(*, member: Member, by, **fields) -> Member:
    _require_editor(by, member.entity)
    unknown = set(fields) - set(MEMBER_FIELDS)
    if unknown:
        raise TypeError(f"member_update() cannot change {sorted(unknown)}")
    if fields.get("is_lead"):
        _clear_other_leads(member.entity, member)
    for name, value in fields.items():
        setattr(member, name, value)
    member.full_clean()
    member.save(update_fields=list(fields))
    return member


@transaction.atomic
def member_remove(*, member: Member, by) -> None:
    _require_editor(by, member.entity)
    member.delete()


# --- achievements ---------------------------------------------------------------------------------


@transaction.atomic
def achievement_create(
    *,
    entity: Entity,
    by,
    title: str,
    kind: str,
    description: str = "",
    stage: str = Achievement.Stage.LAB,
    on: datetime.date | None = None,
) -> Achievement:
    """Record an achievement at its current stage; the history starts with that stage on `on`."""
    _require_editor(by, entity)
    on = on or timezone.localdate()
    if on > timezone.localdate():
        raise WrongState(_("The date of the stage cannot be in the future."))
    achievement = Achievement(entity=entity, title=title, kind=kind, stage=stage, description=description)
    achievement.full_clean()
    achievement.save()
    AchievementStageChange.objects.create(
        achievement=achievement, from_stage="", to_stage=stage, changed_on=on, changed_by=by
    )
    return achievement


@transaction.atomic
def achievement_update(*, achievement: Achievement, by, title: str, kind: str, description: str = "") -> Achievement:
    """Change what the achievement is; its stage changes only through `achievement_change_stage`."""
    _require_editor(by, achievement.entity)
    achievement.title, achievement.kind, achievement.description = title, kind, description
    achievement.full_clean()
    achievement.save(update_fields=["title", "kind", "description"])
    return achievement


@transaction.atomic
def achievement_change_stage(
    *, achievement: Achievement, to_stage: str, on: datetime.date, by, note: str = ""
) -> AchievementStageChange:
    """Move an achievement to another stage on date `on`, leaving a history row and an audit entry.

    Stages move forward (lab → pilot-scale → incubation → transformed); staff may move one back to
    correct a mistake (teams.workflow.ACHIEVEMENT). The date may not be in the future nor before the
    previous change.
    """
    _require_editor(by, achievement.entity)
    locked = Achievement.objects.select_for_update(of=("self",)).select_related("entity").get(pk=achievement.pk)
    if to_stage not in Achievement.Stage.values:
        raise WrongState(_("Choose one of the stages."))
    if to_stage == locked.stage:
        raise WrongState(_("The achievement is already at this stage."))
    name = workflow.stage_move(locked.stage, to_stage)
    try:
        _check(workflow.ACHIEVEMENT, name, locked, by)
    except NotAllowed as error:
        # They may edit the entity (checked above): what their role may not take is the way back.
        raise WrongState(str(workflow.FORWARD_ONLY)) from error
    if on > timezone.localdate():
        raise WrongState(_("The date of the stage change cannot be in the future."))
    last = locked.stage_changes.order_by("-changed_on", "-pk").first()
    if last is not None and on < last.changed_on:
        raise WrongState(
            _("The date cannot be before the previous stage change (%(date)s).") % {"date": last.changed_on}
        )
    before = audit.snapshot(locked)
    change = AchievementStageChange.objects.create(
        achievement=locked, from_stage=locked.stage, to_stage=to_stage, changed_on=on, changed_by=by, note=note
    )
    locked.stage = to_stage
    locked.save(update_fields=["stage"])
    audit.record_changed(
        locked,
        action="teams.achievement.stage_changed",
        before=before,
        actor=by,
        extra={"transition": name, "changed_on": on, "note": note},
    )
    achievement.stage = to_stage
    return change


# --- residency (staff decisions) ------------------------------------------------------------------


@transaction.atomic
def residency_select(
    *, entity: Entity, sub_venue: SubVenue, by, on: datetime.date | None = None, note: str = ""
) -> Residency:
    """Staff record that `entity` was selected to enter `sub_venue`. One active residency at a time."""
    _require_decider(by)
    _require_sub_venue(by, sub_venue.pk)
    # Serialise decisions about one entity; the partial unique constraint is the last line of defence.
    Entity.objects.select_for_update().filter(pk=entity.pk).first()
    if entity_has_active_residency(entity):
        raise WrongState(_("This entity already has an active residency; end it before selecting it again."))
    residency = Residency(
        entity=entity,
        sub_venue=sub_venue,
        status=workflow.RESIDENCY.initial,
        selected_on=on or timezone.localdate(),
        decided_by=by,
        note=note,
    )
    try:
        with transaction.atomic():
            residency.save()
    except IntegrityError as error:  # a concurrent selection won the race
        raise WrongState(_("This entity already has an active residency.")) from error
    audit.record_created(residency, action="teams.residency.created", actor=by)
    return residency


def _lock_residency(residency: Residency) -> Residency:
    return Residency.objects.select_for_update(of=("self",)).get(pk=residency.pk)


def _residency_check(residency: Residency, name: str, by) -> tuple[Residency, dict, str]:
    """Lock the residency and check RESIDENCY transition `name` on it (role, state), then the sub-venue
    scope. Returns the locked row, its values before the change and the status it moves to."""
    locked = _lock_residency(residency)
    transition = _check(workflow.RESIDENCY, name, locked, by)
    _require_sub_venue(by, locked.sub_venue_id)
    return locked, audit.snapshot(locked), transition.target


def _residency_moved(locked: Residency, before: dict, by) -> Residency:
    # The action names the new status: teams.residency.entered, .graduated, .exited.
    audit.record_changed(locked, action=f"teams.residency.{locked.status}", before=before, actor=by)
    return locked


@transaction.atomic
def residency_enter(*, residency: Residency, by, on: datetime.date | None = None) -> Residency:
    """A selected entity moves in: it is now resident."""
    locked, before, status = _residency_check(residency, "enter", by)
    on = on or timezone.localdate()
    if on < locked.selected_on:
        raise WrongState(_("The entry date cannot be before the selection date."))
    locked.status, locked.entered_on, locked.decided_by = status, on, by
    locked.save(update_fields=["status", "entered_on", "decided_by"])
    return _residency_moved(locked, before, by)


@transaction.atomic
def residency_end(
    *, residency: Residency, by, status: str, on: datetime.date | None = None, note: str = ""
) -> Residency:
    """End an active residency: graduated (after entering) or exited."""
    if status not in workflow.ENDINGS:
        raise WrongState(_("A residency ends as graduated or exited."))
    locked, before, status = _residency_check(residency, workflow.ENDINGS[status], by)
    on = on or timezone.localdate()
    if on < (locked.entered_on or locked.selected_on):
        raise WrongState(_("The end date cannot be before the residency began."))
    locked.status, locked.ended_on, locked.decided_by = status, on, by
    if note:
        locked.note = f"{locked.note}\n{note}".strip()
    locked.save(update_fields=["status", "ended_on", "decided_by", "note"])
    return _residency_moved(locked, before, by)


@transaction.atomic
def residency_update_note(*, residency: Residency, by, note: str) -> Residency:
    """Change the residency's note (its status and dates change only through the transitions above)."""
    _require_decider(by)
    locked = _lock_residency(residency)
    _require_sub_venue(by, locked.sub_venue_id)
    before = audit.snapshot(locked)
    locked.note = note
    locked.save(update_fields=["note"])
    audit.record_changed(locked, action="teams.residency.changed", before=before, actor=by)
    return locked


def _require_superuser(by) -> None:
    # No role may delete decisions (valley/core/roles.py): a residency ends, a registration is corrected.
    if not getattr(by, "is_superuser", False):
        raise NotAllowed(_("Only administrators delete residencies and company registrations."))


@transaction.atomic
def residency_delete(*, residency: Residency, by) -> None:
    """An administrator removes a residency recorded by mistake; the audit log keeps its values."""
    _require_superuser(by)
    locked = _lock_residency(residency)
    before, pk = audit.snapshot(locked), locked.pk
    locked.delete()
    audit.record(action="teams.residency.deleted", actor=by, object_type="teams.residency", object_id=pk, before=before)


# --- company registration -------------------------------------------------------------------------


def may_record_registration(user) -> bool:
    """Government work: registration officers and provincial staff, not operators or applicants."""
    return bool(
        getattr(user, "is_superuser", False) or roles.has_role(user, roles.REGISTRATION_OFFICER, roles.PROVINCIAL_STAFF)
    )


@transaction.atomic
def registration_record(
    *,
    entity: Entity,
    by,
    company_name: str,
    uscc: str,
    registered_on: datetime.date,
    registered_capital: Decimal,
    paid_in_capital: Decimal,
    legal_representative: str,
) -> Registration:
    """Government staff record the registered company; the entity becomes (or stays) a startup."""
    if not may_record_registration(by):
        raise NotAllowed(_("Only registration officers and provincial staff record company registrations."))
    try:
        validate_uscc(uscc)
    except ValidationError as error:
        raise WrongState(error.messages[0]) from error
    if paid_in_capital > registered_capital:
        raise WrongState(_("Paid-in capital cannot exceed registered capital."))
    clash = Registration.objects.filter(uscc=uscc).exclude(entity=entity).select_related("entity").first()
    if clash:
        raise WrongState(
            _("The code %(uscc)s is already registered to %(entity)s.") % {"uscc": uscc, "entity": clash.entity}
        )
    locked = Entity.objects.select_for_update().get(pk=entity.pk)
    registration = Registration.objects.select_for_update().filter(entity=locked).first()
    before = audit.snapshot(registration) if registration is not None else None
    registration = registration or Registration(entity=locked)
    registration.company_name, registration.uscc = company_name, uscc
    registration.registered_on, registration.legal_representative = registered_on, legal_representative
    registration.registered_capital, registration.paid_in_capital = registered_capital, paid_in_capital
    registration.verified_by, registration.verified_at = by, timezone.now()
    registration.save()
    if before is None:
        audit.record_created(registration, action="teams.registration.created", actor=by)
    else:
        audit.record_changed(registration, action="teams.registration.changed", before=before, actor=by)
    if locked.kind != Entity.Kind.STARTUP:
        locked.kind = Entity.Kind.STARTUP
        locked.save(update_fields=["kind", "updated_at"])
        entity.kind = Entity.Kind.STARTUP
    return registration


@transaction.atomic
def registration_delete(*, registration: Registration, by) -> None:
    """An administrator removes a registration recorded by mistake; the audit log keeps its values."""
    _require_superuser(by)
    locked = Registration.objects.select_for_update().get(pk=registration.pk)
    before, pk = audit.snapshot(locked), locked.pk
    locked.delete()
    audit.record(
        action="teams.registration.deleted", actor=by, object_type="teams.registration", object_id=pk, before=before
    )


# --- documents ------------------------------------------------------------------------------------


@transaction.atomic
def document_upload(*, entity: Entity, by, title: str, upload) -> Document:
    """Store an uploaded PDF or image under a random name, after checking its size and real type."""
    _require_editor(by, entity)
    try:
        detected = documents.inspect_upload(upload)
    except ValidationError as error:
        raise WrongState(error.messages[0]) from error
    document = Document(
        entity=entity,
        title=title,
        original_name=documents.original_name(upload),
        content_type=detected.mime,
        size=upload.size,
        uploaded_by=by,
    )
    documents.store_upload(document.file, upload, detected)
    try:
        document.save()
    except Exception:
        document.file.delete(save=False)
        raise
    return document


@transaction.atomic
def document_delete(*, document: Document, by) -> None:
    _require_editor(by, document.entity)
    documents.delete_after_commit(document.file)
    document.delete()
