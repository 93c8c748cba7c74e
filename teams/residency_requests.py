"""Residency requests (入驻申请): the table of their workflow, their writes, their reads and their mail.

RESIDENCY_REQUEST: submitted → selected | declined (a reason required), or withdrawn by the applicant while
submitted. Staff of the request's sub-venue decide (operators only for the sub-venues they operate,
provincial staff everywhere: valley.core.scoping); selecting a request starts the residency through
teams.services.residency_select, in the same transaction, so "selected → entered" stays the residency's own
flow. Every step is one function below: lock the row, check the table, change it, append the history row
and the audit entry, and queue the mail in the outbox (a new request to the operators of its sub-venue, a
decision to the applicant), all in one transaction.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from teams import services as teams_services
from teams.models import Document, Entity
from teams.residency_request_models import ResidencyNeed, ResidencyRequest, ResidencyRequestEvent
from teams.selectors import entity_has_active_residency
from teams.services import NotAllowed, WrongState, _check
from teams.workflow import DECIDERS
from valley import audit
from valley.core import roles, scoping
from valley.core.workflow import OWNER, Transition, Workflow
from valley.messaging.mail import queue_mail
from valley.models import SubVenue

S = ResidencyRequest.Status

RESIDENCY_REQUEST = Workflow(
    [
        Transition("select", (S.SUBMITTED,), S.SELECTED, DECIDERS, gettext_lazy("select for residency")),
        Transition(
            "decline", (S.SUBMITTED,), S.DECLINED, DECIDERS, gettext_lazy("decline the request"), needs_comment=True
        ),
        Transition(
            "withdraw",
            (S.SUBMITTED,),
            S.WITHDRAWN,
            frozenset({OWNER}),
            gettext_lazy("withdraw the request"),
            wrong_state=gettext_lazy("Only a request that is still waiting for a decision can be withdrawn."),
        ),
    ],
    name="teams.residency_request",
    states=S,
    initial=S.SUBMITTED,
    state_field="status",
    owner_of=lambda request: request.entity.owner_id,
    thing=gettext_lazy("residency request"),
    actions={"teams.residency_request.submitted": gettext_lazy("submitted")},
)


# --- reads ----------------------------------------------------------------------------------------


def _base() -> QuerySet[ResidencyRequest]:
    return ResidencyRequest.objects.select_related(
        "entity__institution", "entity__focus_area", "entity__owner", "sub_venue", "decided_by", "residency"
    )


def residency_requests_visible_to(user) -> QuerySet[ResidencyRequest]:
    """Applicants: the requests of the entities they own. Staff and auditors: those of the sub-venues they
    reach (valley.core.scoping: operators their own, everyone else all). Anyone else: none."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return ResidencyRequest.objects.none()
    if roles.is_staff_member(user) or roles.is_auditor(user) or user.is_superuser:
        return scoping.in_scope(_base(), user)
    return _base().filter(entity__owner=user)


def residency_request_queue(user) -> QuerySet[ResidencyRequest]:
    """The requests waiting for a decision in the staff member's sub-venues, the oldest first."""
    if not (roles.is_staff_member(user) or roles.is_auditor(user) or getattr(user, "is_superuser", False)):
        return ResidencyRequest.objects.none()
    return residency_requests_visible_to(user).filter(status=S.SUBMITTED).order_by("submitted_at", "pk")


def residency_requests_of_entity(entity: Entity, user) -> list[ResidencyRequest]:
    """The entity's requests that `user` may see, for the entity's page, newest first (one query)."""
    return list(residency_requests_visible_to(user).filter(entity=entity).order_by("-submitted_at", "-pk"))


def open_sub_venues() -> QuerySet[SubVenue]:
    return SubVenue.objects.filter(status=SubVenue.Status.OPEN)


def entity_may_request(entity: Entity) -> str | None:
    """Why the entity cannot ask for residency now, or None when it can."""
    if entity_has_active_residency(entity):
        return _("%(entity)s is already resident in a sub-venue.") % {"entity": entity}
    if ResidencyRequest.objects.filter(entity=entity, status=S.SUBMITTED).exists():
        return _("%(entity)s already has a residency request waiting for a decision.") % {"entity": entity}
    return None


# --- writes ---------------------------------------------------------------------------------------


def _history(request: ResidencyRequest, action: str, from_status: str, by, comment: str = "") -> None:
    ResidencyRequestEvent.objects.create(
        request=request, action=action, from_status=from_status, to_status=request.status, by=by, comment=comment
    )
    audit.record(
        action=action,
        actor=by,
        object_type=ResidencyRequest._meta.label_lower,
        object_id=request.pk,
        before={"status": from_status},
        after={"status": request.status, "comment": comment},
    )


@transaction.atomic
def residency_request_submit(
    *,
    entity: Entity,
    by,
    sub_venue: SubVenue,
    reason: str,
    needs: list[str] | tuple = (),
    needs_detail: str = "",
    documents: list[Document] | tuple = (),
    upload=None,
    upload_title: str = "",
) -> ResidencyRequest:
    """The entity's owner asks for residency in an open sub-venue. One open request per entity."""
    if by is None or entity.owner_id != by.pk:
        raise NotAllowed(_("Only the applicant who keeps this profile can ask for residency."))
    if sub_venue.status != SubVenue.Status.OPEN:
        raise WrongState(_("%(venue)s does not take residents now; choose an open sub-venue.") % {"venue": sub_venue})
    if not reason.strip():
        raise WrongState(_("Say why the team wants to enter this sub-venue."))
    unknown = set(needs) - set(ResidencyNeed.values)
    if unknown:
        raise WrongState(_("Choose the needs from the list."))
    if any(document.entity_id != entity.pk for document in documents):
        raise NotAllowed(_("Attach only this team's own documents."))
    Entity.objects.select_for_update().filter(pk=entity.pk).first()  # serialise one entity's requests
    if problem := entity_may_request(entity):
        raise WrongState(problem)
    request = ResidencyRequest(
        entity=entity,
        sub_venue=sub_venue,
        reason=reason.strip(),
        needs=sorted(set(needs), key=list(ResidencyNeed.values).index),
        needs_detail=needs_detail.strip(),
        submitted_by=by,
    )
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError as error:  # a concurrent request won the race: the partial unique constraint
        raise WrongState(
            _("%(entity)s already has a residency request waiting for a decision.") % {"entity": entity}
        ) from error
    attached = list(documents)
    if upload is not None:
        attached.append(
            teams_services.document_upload(
                entity=entity, by=by, title=upload_title or _("Residency request material"), upload=upload
            )
        )
    request.documents.set(attached)
    _history(request, "teams.residency_request.submitted", "", by)
    notify_sub_venue_staff(request)
    return request


def _lock(request: ResidencyRequest) -> ResidencyRequest:
    return (
        ResidencyRequest.objects.select_for_update(of=("self",))
        .select_related("entity__owner", "sub_venue")
        .get(pk=request.pk)
    )


def _decided(locked: ResidencyRequest, name: str, by, comment: str, from_status: str, fields: list[str]):
    locked.save(update_fields=["status", *fields])
    _history(locked, f"teams.residency_request.{name}", from_status, by, comment)
    notify_applicant(locked)
    return locked


@transaction.atomic
def residency_request_select(*, request: ResidencyRequest, by, note: str = "") -> ResidencyRequest:
    """Staff of the sub-venue select the request: the residency starts (selected), the applicant is told."""
    locked = _lock(request)
    transition = _check(RESIDENCY_REQUEST, "select", locked, by)
    if not scoping.may_work_on_sub_venue(by, locked.sub_venue_id):
        raise NotAllowed(_("You may record decisions only for the sub-venues you operate."))
    from_status = locked.status
    locked.residency = teams_services.residency_select(
        entity=locked.entity, sub_venue=locked.sub_venue, by=by, note=note
    )
    locked.status, locked.decided_by, locked.decided_at = transition.target, by, timezone.now()
    locked.decision_reason = note.strip()
    return _decided(
        locked, "select", by, note.strip(), from_status, ["residency", "decided_by", "decided_at", "decision_reason"]
    )


@transaction.atomic
def residency_request_decline(*, request: ResidencyRequest, by, reason: str) -> ResidencyRequest:
    """Staff of the sub-venue decline the request, saying why; the applicant is told the reason."""
    locked = _lock(request)
    transition = _check(RESIDENCY_REQUEST, "decline", locked, by)
    if not scoping.may_work_on_sub_venue(by, locked.sub_venue_id):
        raise NotAllowed(_("You may record decisions only for the sub-venues you operate."))
    if not reason.strip():
        raise WrongState(_("Write the reason for the applicant: it says why the request is declined."))
    from_status = locked.status
    locked.status, locked.decided_by, locked.decided_at = transition.target, by, timezone.now()
    locked.decision_reason = reason.strip()
    return _decided(locked, "decline", by, reason.strip(), from_status, ["decided_by", "decided_at", "decision_reason"])


@transaction.atomic
def residency_request_withdraw(*, request: ResidencyRequest, by) -> ResidencyRequest:
    """The applicant takes back a request that is still waiting for a decision."""
    locked = _lock(request)
    transition = _check(RESIDENCY_REQUEST, "withdraw", locked, by)
    from_status = locked.status
    locked.status = transition.target
    locked.save(update_fields=["status"])
    _history(locked, "teams.residency_request.withdraw", from_status, by)
    return locked


# --- mail -----------------------------------------------------------------------------------------


def _render(request: ResidencyRequest, language: str) -> tuple[str, str]:
    with translation.override(language):
        what = {"entity": request.entity.name, "venue": request.sub_venue.name, "id": request.pk}
        if request.status == S.SELECTED:
            subject = _("[Shanxi Innovation Valley] Residency request #%(id)s: selected") % what
            lines = [_("%(entity)s is selected to enter %(venue)s. Valley staff will arrange the move-in.") % what]
        else:
            subject = _("[Shanxi Innovation Valley] Residency request #%(id)s: declined") % what
            lines = [_("The request of %(entity)s to enter %(venue)s is declined.") % what]
        if request.decision_reason:
            lines.append(_("Reason: %(reason)s") % {"reason": request.decision_reason})
        url = settings.SITE_URL + reverse("teams:residency_request_detail", args=[request.pk])
        lines.append(_("Details: %(url)s") % {"url": url})
        return subject, "\n".join(lines)


def notify_applicant(request: ResidencyRequest) -> None:
    """Tell the applicant the decision, in both languages, through the outbox (sent after commit)."""
    subject, body_zh = _render(request, "zh-hans")
    _subject_en, body_en = _render(request, "en")
    entity = request.entity
    to = sorted(filter(None, {entity.contact_email, getattr(entity.owner, "email", "")}))
    queue_mail(to=to, subject=subject, body=f"{body_zh}\n\n----\n{body_en}\n")


def sub_venue_operators(sub_venue_id: int) -> list[str]:
    """The e-mail addresses of the active operators of the sub-venue: the staff who decide its requests."""
    operators = (
        get_user_model()
        .objects.filter(is_active=True, groups__name=roles.SUB_VENUE_OPERATOR, sub_venues=sub_venue_id)
        .exclude(email="")
    )
    return sorted(set(operators.values_list("email", flat=True)))


def _render_arrival(request: ResidencyRequest, language: str) -> tuple[str, str]:
    with translation.override(language):
        what = {"entity": request.entity.name, "venue": request.sub_venue.name, "id": request.pk}
        subject = _("[Shanxi Innovation Valley] New residency request #%(id)s for %(venue)s") % what
        url = settings.SITE_URL + reverse("teams:residency_request_detail", args=[request.pk])
        lines = [
            _("%(entity)s asks to enter %(venue)s. It waits for your decision.") % what,
            _("Reason: %(reason)s") % {"reason": request.reason},
            _("Details: %(url)s") % {"url": url},
        ]
        return subject, "\n".join(lines)


def notify_sub_venue_staff(request: ResidencyRequest) -> None:
    """Tell the operators of the requested sub-venue that a request has arrived, in both languages (the portal
    keeps no language per person), through the outbox: sent after commit, not at all if the submission fails."""
    to = sub_venue_operators(request.sub_venue_id)
    if not to:
        return  # provincial staff find it in the queue
    subject, body_zh = _render_arrival(request, "zh-hans")
    _subject_en, body_en = _render_arrival(request, "en")
    queue_mail(to=to, subject=subject, body=f"{body_zh}\n\n----\n{body_en}\n")
