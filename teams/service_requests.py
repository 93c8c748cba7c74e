"""Writes for residents' service requests: one function per step of SERVICE_REQUEST (teams/service_workflow.py).

Each step locks the request, checks the table (role, then state), then the line scope (service-line staff
act only on the lines assigned to them, User.service_lines), saves with update_fields, writes its history
row (ServiceRequestEvent) and its audit entry in the same transaction, and queues mail through the outbox.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from teams.models import Entity, Residency
from teams.service_models import (
    ServiceRequest,
    ServiceRequestAttachment,
    ServiceRequestEvent,
    ServiceRequestMessage,
)
from teams.service_workflow import LINE_STAFF, SERVICE_REQUEST
from valley import audit
from valley.core import documents, errors, roles
from valley.core.calendar import add_working_days
from valley.core.workflow import TransitionForbidden, TransitionNotAllowed
from valley.messaging.mail import queue_mail
from valley.models import ServiceLine

S = ServiceRequest.State
OBJECT_TYPE = "teams.servicerequest"


class ServiceRequestError(errors.DomainError):
    """A rule of the service system refused the action; `message` is translated and meant for the user."""


class NotAllowed(ServiceRequestError, errors.Forbidden):
    """The person's role, ownership or service line does not allow this."""


class WrongState(ServiceRequestError, errors.WrongState):
    """The request is not in a state that allows this now."""


# --- who may act ----------------------------------------------------------------------------------


def line_ids_of(user) -> frozenset[int]:
    """The service lines a member of staff works for (one query per user object, then remembered)."""
    cached = getattr(user, "_valley_service_line_ids", None)
    if cached is None:
        cached = frozenset(user.service_lines.values_list("pk", flat=True)) if user.pk else frozenset()
        user._valley_service_line_ids = cached
    return cached


def works_every_line(user) -> bool:
    """Provincial staff (and superusers) work every line's requests; service-line staff only their own."""
    return roles.has_role(user, roles.PROVINCIAL_STAFF)


def may_work_on_line(user, line_id: int) -> bool:
    if user is None or works_every_line(user):
        return True
    return roles.has_role(user, roles.SERVICE_LINE_STAFF) and line_id in line_ids_of(user)


def is_line_staff(user) -> bool:
    return getattr(user, "is_authenticated", False) and roles.has_role(user, *LINE_STAFF) and not roles.is_auditor(user)


def _check(request: ServiceRequest, name: str, by):
    try:
        transition = SERVICE_REQUEST.check(name, request, by)
    except TransitionForbidden as error:
        raise NotAllowed(error.message) from error
    except TransitionNotAllowed as error:
        raise WrongState(error.message) from error
    if by is not None and request.entity.owner_id != by.pk and not may_work_on_line(by, request.line_id):
        raise NotAllowed(_("You work only on the requests of the service lines assigned to you."))
    return transition


def _lock(request: ServiceRequest) -> ServiceRequest:
    return (
        ServiceRequest.objects.select_for_update(of=("self",))
        .select_related("entity", "entity__owner", "line", "handler")
        .get(pk=request.pk)
    )


def _history(request: ServiceRequest, action: str, from_state: str, by, comment: str = "", **after):
    ServiceRequestEvent.objects.create(
        request=request, action=action, from_state=from_state, to_state=request.state, by=by, comment=comment
    )
    audit.record(
        action=action,
        actor=by,
        object_type=OBJECT_TYPE,
        object_id=request.pk,
        before={"state": from_state},
        after={"state": request.state, "comment": comment, **after},
    )


def _move(request: ServiceRequest, name: str, *, by, comment: str = "", fields=(), apply=None, **after):
    """Take transition `name` on the locked `request`: `apply(request)` sets the step's own fields."""
    transition = _check(request, name, by)
    if transition.needs_comment and not comment.strip():
        raise ServiceRequestError(_("Write a reason for the applicant: it says why."))
    from_state = request.state
    if apply is not None:
        apply(request)
    request.state = transition.target
    request.save(update_fields=["state", *fields])
    _history(request, f"{SERVICE_REQUEST.name}.{name}", from_state, by, comment.strip(), **after)
    return request


# --- mail -----------------------------------------------------------------------------------------


def _url(request: ServiceRequest) -> str:
    return settings.SITE_URL + reverse("teams:service_request_detail", args=[request.pk])


def _bilingual(render) -> tuple[str, str]:
    """(the Chinese subject, the Chinese body, a line, then the English body): mail goes out in both."""
    with translation.override("zh-hans"):
        subject, body_zh = render()
    with translation.override("en"):
        _subject, body_en = render()
    return str(subject), f"{body_zh}\n\n----\n{body_en}\n"


def _applicant_emails(request: ServiceRequest) -> list[str]:
    return sorted(filter(None, {request.entity.contact_email, getattr(request.entity.owner, "email", "")}))


def _mail_applicant(request: ServiceRequest, text: str = "") -> None:
    def render():
        state = request.get_state_display()
        subject = _("[Shanxi Innovation Valley] Service request #%(id)s: %(state)s") % {
            "id": request.pk,
            "state": state,
        }
        lines = [
            _("Your request “%(subject)s” to %(line)s is now: %(state)s.")
            % {"subject": request.subject, "line": request.line.name, "state": state}
        ]
        if text:
            lines.append(text)
        lines.append(_("Details: %(url)s") % {"url": _url(request)})
        return subject, "\n".join(lines)

    subject, body = _bilingual(render)
    queue_mail(to=_applicant_emails(request), subject=subject, body=body)


# --- the steps ------------------------------------------------------------------------------------


def _attach(request: ServiceRequest, uploads, by, message: ServiceRequestMessage | None = None) -> None:
    """Check and store each upload through the one document mechanism; a refused file refuses the step."""
    for upload in uploads or []:
        try:
            detected = documents.inspect_upload(upload)
        except ValidationError as error:
            raise ServiceRequestError(error.messages[0]) from error
        attachment = ServiceRequestAttachment(
            request=request,
            message=message,
            original_name=documents.original_name(upload),
            content_type=detected.mime,
            size=upload.size,
            uploaded_by=by,
        )
        documents.store_upload(attachment.file, upload, detected)
        try:
            attachment.save()
        except Exception:
            attachment.file.delete(save=False)
            raise


def service_request_submit(
    *,
    entity: Entity,
    line: ServiceLine,
    by,
    subject: str,
    details: str,
    preferred_contact: str = "",
    uploads=(),
    now: datetime.datetime | None = None,
) -> ServiceRequest:
    """A resident entity asks `line` for help. Due `line.time_limit_working_days` working days after today."""
    if by is None or entity.owner_id != by.pk:
        raise NotAllowed(_("Only the applicant who keeps this entity's profile can make requests for it."))
    if not subject.strip() or not details.strip():
        raise ServiceRequestError(_("Write a subject and the details of what you need."))
    now = now or timezone.now()
    submitted_on = timezone.localdate(now)
    with transaction.atomic():
        residency = (
            Residency.objects.filter(entity=entity, status__in=Residency.ACTIVE_STATUSES).only("sub_venue_id").first()
        )
        if residency is None:
            raise WrongState(_("Only resident entities can request services: this entity has no active residency."))
        request = ServiceRequest.objects.create(
            entity=entity,
            line=line,
            sub_venue_id=residency.sub_venue_id,
            applicant=by,
            subject=subject.strip(),
            details=details.strip(),
            preferred_contact=preferred_contact.strip(),
            state=SERVICE_REQUEST.initial,
            submitted_at=now,
            submitted_on=submitted_on,
            due_on=add_working_days(submitted_on, line.time_limit_working_days),
        )
        _attach(request, uploads, by)
        _history(request, "teams.service_request.submitted", "", by, line=line.code, due_on=request.due_on.isoformat())
    return request


@transaction.atomic
def service_request_accept(*, request: ServiceRequest, by, handler) -> ServiceRequest:
    """The line accepts the request and assigns a handler from its staff."""
    locked = _lock(request)
    _check(locked, "accept", by)
    if handler is None or not handler.is_active or not _is_staff_of_line(handler, locked.line_id):
        raise ServiceRequestError(_("Choose a handler among the staff of this service line."))

    def apply(r):
        r.handler, r.accepted_at = handler, timezone.now()

    _move(locked, "accept", by=by, fields=["handler", "accepted_at"], apply=apply, handler=handler.pk)
    _mail_applicant(locked, _("Your handler: %(handler)s.") % {"handler": handler.get_full_name() or handler.email})
    return locked


def _is_staff_of_line(user, line_id: int) -> bool:
    return user.groups.filter(name=roles.SERVICE_LINE_STAFF).exists() and user.service_lines.filter(pk=line_id).exists()


def line_handlers(line_id: int):
    """The active service-line staff of a line: who may be assigned its requests. One query."""
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=roles.SERVICE_LINE_STAFF, service_lines=line_id)
        .distinct()
        .order_by("last_name", "first_name", "email")
    )


@transaction.atomic
def service_request_reject(*, request: ServiceRequest, by, reason: str) -> ServiceRequest:
    """The line declines the request, saying why."""
    locked = _lock(request)

    def apply(r):
        r.rejection_reason = reason.strip()

    _move(locked, "reject", by=by, comment=reason, fields=["rejection_reason"], apply=apply)
    _mail_applicant(locked, _("Reason: %(reason)s") % {"reason": locked.rejection_reason})
    return locked


@transaction.atomic
def service_request_start(*, request: ServiceRequest, by) -> ServiceRequest:
    locked = _lock(request)
    return _move(locked, "start", by=by)


MESSAGE_STATES = (S.SUBMITTED, S.ACCEPTED, S.IN_PROGRESS, S.RESOLVED)


@transaction.atomic
def service_request_message(*, request: ServiceRequest, by, body: str, uploads=()) -> ServiceRequestMessage:
    """A message on the request's page, from its applicant or its line's staff. The line's first message
    on an accepted request starts the work (accepted → in progress)."""
    locked = _lock(request)
    from_staff = locked.entity.owner_id != by.pk
    if from_staff and not (is_line_staff(by) and may_work_on_line(by, locked.line_id)):
        raise NotAllowed(_("Only the applicant and the staff of this service line write on this request."))
    if locked.state not in MESSAGE_STATES:
        raise WrongState(_("This request is %(state)s: no more messages.") % {"state": locked.get_state_display()})
    if not body.strip():
        raise ServiceRequestError(_("Write a message."))
    message = ServiceRequestMessage.objects.create(request=locked, author=by, from_staff=from_staff, body=body.strip())
    _attach(locked, uploads, by, message)
    audit.record(
        action="teams.service_request.message",
        actor=by,
        object_type=OBJECT_TYPE,
        object_id=locked.pk,
        after={"message": message.pk, "from_staff": from_staff},
    )
    if from_staff and locked.state == S.ACCEPTED:
        _move(locked, "start", by=by)
    text = _("New message: %(body)s") % {"body": message.body}
    if from_staff:
        _mail_applicant(locked, text)
    else:
        _mail_line(locked, text)
    return message


def _mail_line(request: ServiceRequest, text: str) -> None:
    """Tell the handler (or, before one is assigned, the line's lead) about the applicant's message."""
    person = request.handler or request.line.lead
    if person is None or not person.email:
        return

    def render():
        subject = _("[Shanxi Innovation Valley] Service request #%(id)s: a message from the applicant") % {
            "id": request.pk
        }
        return subject, "\n".join([request.subject, text, _("Details: %(url)s") % {"url": _url(request)}])

    subject, body = _bilingual(render)
    queue_mail(to=person.email, subject=subject, body=body)


@transaction.atomic
def service_request_resolve(*, request: ServiceRequest, by, resolution: str) -> ServiceRequest:
    """The line resolves the request; the applicant may now rate it, or it closes by itself later."""
    locked = _lock(request)
    now = timezone.now()

    def apply(r):
        r.resolution = resolution.strip()
        r.resolved_at, r.resolved_on = now, timezone.localdate(now)
        r.auto_close_on = add_working_days(r.resolved_on, settings.SERVICE_AUTO_CLOSE_WORKING_DAYS)

    _move(
        locked,
        "resolve",
        by=by,
        comment=resolution,
        fields=["resolution", "resolved_at", "resolved_on", "auto_close_on"],
        apply=apply,
    )
    _mail_applicant(
        locked,
        _("Resolution: %(resolution)s\nPlease rate the service (1–5) on the request's page.")
        % {"resolution": locked.resolution},
    )
    return locked


def service_request_rate(*, request: ServiceRequest, by, rating, comment: str = "") -> ServiceRequest:
    """The applicant rates a resolved request (好差评), once; the rating closes it."""
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        raise ServiceRequestError(_("Choose a rating from 1 (poor) to 5 (excellent)."))
    try:
        with transaction.atomic():
            locked = _lock(request)
            if locked.rated_at is not None:
                raise WrongState(_("This request has already been rated; a rating is given once."))

            def apply(r):
                r.rating, r.rating_comment, r.rated_at = rating, comment.strip(), timezone.now()
                r.closed_at = r.rated_at

            return _move(
                locked,
                "rate",
                by=by,
                comment=comment,
                fields=["rating", "rating_comment", "rated_at", "closed_at"],
                apply=apply,
                rating=rating,
            )
    except IntegrityError as error:  # the database's own guard, for a path that escaped the checks
        raise WrongState(_("A request can be rated once, after it has been resolved.")) from error


@transaction.atomic
def service_request_auto_close(*, request: ServiceRequest) -> ServiceRequest:
    """The schedule closes a resolved request the applicant did not rate in time."""
    locked = _lock(request)

    def apply(r):
        r.closed_at = timezone.now()

    return _move(locked, "auto_close", by=None, fields=["closed_at"], apply=apply)


# --- scheduled work -------------------------------------------------------------------------------


def service_requests_auto_close(*, today: datetime.date | None = None) -> int:
    """Close every resolved, unrated request whose auto-close day has come. Safe to run twice (and at once:
    the row lock and the state check let one run close each request)."""
    today = today or timezone.localdate()
    closed = 0
    due = ServiceRequest.objects.filter(state=S.RESOLVED, auto_close_on__lte=today).values_list("pk", flat=True)
    for pk in list(due):
        try:
            service_request_auto_close(request=ServiceRequest(pk=pk))
        except WrongState:  # rated or closed meanwhile
            continue
        closed += 1
    return closed


def service_requests_flag_overdue(*, today: datetime.date | None = None) -> int:
    """Flag each open request past its due date and mail its line's lead, exactly once per request.

    The right to mail is won by one conditional UPDATE (overdue_notified_at IS NULL → now) in the transaction
    that queues the mail: a second run, or a second worker at the same moment, updates no row and sends
    nothing. Returns how many requests were flagged now."""
    today = today or timezone.localdate()
    candidates = list(
        ServiceRequest.objects.filter(state__in=S_OPEN, due_on__lt=today, overdue_notified_at__isnull=True)
        .select_related("line", "line__lead", "entity")
        .order_by("due_on", "pk")
    )
    flagged = 0
    for request in candidates:
        with transaction.atomic():
            now = timezone.now()
            won = ServiceRequest.objects.filter(
                pk=request.pk, state__in=S_OPEN, overdue_notified_at__isnull=True
            ).update(overdue_notified_at=now)
            if not won:
                continue
            audit.record(
                action="teams.service_request.overdue",
                actor=None,
                object_type=OBJECT_TYPE,
                object_id=request.pk,
                after={"due_on": request.due_on.isoformat(), "lead": request.line.lead_id},
            )
            lead = request.line.lead
            if lead is not None and lead.is_active and lead.email:

                def render(request=request):
                    subject = _("[Shanxi Innovation Valley] Service request #%(id)s is overdue") % {"id": request.pk}
                    lines = [
                        _("The request “%(subject)s” of %(entity)s to %(line)s was due on %(due)s and is still open.")
                        % {
                            "subject": request.subject,
                            "entity": request.entity.name,
                            "line": request.line.name,
                            "due": request.due_on.isoformat(),
                        },
                        _("Details: %(url)s") % {"url": _url(request)},
                    ]
                    return subject, "\n".join(lines)

                subject, body = _bilingual(render)
                queue_mail(to=lead.email, subject=subject, body=body)
        flagged += 1
    return flagged


S_OPEN = ServiceRequest.OPEN_STATES
