"""Residents' service requests (综合服务体系): a request to one of the valley's service lines, its history, the
messages between the applicant and the line's staff, and their attachments.

The workflow is teams/service_workflow.py (SERVICE_REQUEST); every change goes through
teams/service_requests.py. Imported by teams/models.py so Django finds the models.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from valley.core import documents
from valley.models import ChoiceLabelsMixin


class ServiceRequestState(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    ACCEPTED = "accepted", pgettext_lazy("service request", "accepted")
    REJECTED = "rejected", pgettext_lazy("service request", "rejected")
    IN_PROGRESS = "in_progress", _("in progress")
    RESOLVED = "resolved", _("resolved")
    CLOSED = "closed", _("closed")


# The states in which the line still owes the applicant an answer: these count against the time limit.
SERVICE_REQUEST_OPEN = (ServiceRequestState.SUBMITTED, ServiceRequestState.ACCEPTED, ServiceRequestState.IN_PROGRESS)


class ServiceRequest(models.Model):
    """A resident entity's request for help from one service line."""

    State = ServiceRequestState
    OPEN_STATES = SERVICE_REQUEST_OPEN

    entity = models.ForeignKey(
        "teams.Entity", on_delete=models.PROTECT, related_name="service_requests", verbose_name=_("entity")
    )
    line = models.ForeignKey(
        "valley.ServiceLine", on_delete=models.PROTECT, related_name="requests", verbose_name=_("service line")
    )
    # The sub-venue of the entity's residency when it asked: the figures count per line and sub-venue.
    sub_venue = models.ForeignKey(
        "valley.SubVenue", on_delete=models.PROTECT, related_name="service_requests", verbose_name=_("sub-venue")
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("submitted by")
    )
    subject = models.CharField(_("subject"), max_length=200)
    details = models.TextField(_("details"))
    preferred_contact = models.CharField(
        _("preferred contact"),
        max_length=200,
        blank=True,
        help_text=_("How the line's staff should reach you: a phone number, an e-mail address, a time of day."),
    )
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.SUBMITTED)
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="handled_service_requests",
        verbose_name=_("handler"),
    )
    submitted_at = models.DateTimeField(_("submitted at"))
    submitted_on = models.DateField(_("submitted on"))
    # submitted_on + the line's time limit in working days, computed once at submission: a calendar or a
    # time limit changed later moves the deadlines of later requests, never of those already made.
    due_on = models.DateField(_("due on"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True)
    auto_close_on = models.DateField(_("closes by itself on"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    rejection_reason = models.TextField(_("reason for rejection"), blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    rating_comment = models.TextField(_("rating comment"), blank=True)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)
    # Set by the one conditional UPDATE that wins the right to mail the line's lead (service_requests_flag_overdue).
    overdue_notified_at = models.DateTimeField(_("lead told it is overdue at"), null=True, blank=True)

    class Meta:
        verbose_name = _("service request")
        verbose_name_plural = _("service requests")
        ordering = ["submitted_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5), name="service_request_rating_1_5"
            ),
            # 好差评 only after resolution: a rating needs a resolution date and its own time.
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(resolved_at__isnull=False, rated_at__isnull=False),
                name="service_request_rated_after_resolution",
            ),
            models.CheckConstraint(
                condition=~Q(state=ServiceRequestState.REJECTED) | ~Q(rejection_reason=""),
                name="service_request_rejection_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(due_on__gt=models.F("submitted_on")), name="service_request_due_after_submission"
            ),
        ]
        indexes = [
            models.Index(fields=["line", "state", "submitted_at"], name="service_request_queue_idx"),
            # The queue's pages, oldest first: a line's staff read an index range in order (LIMIT 20) instead of
            # sorting the line's every request; staff of every line or several lines walk the second one.
            models.Index(fields=["line", "submitted_at", "id"], name="service_request_line_oldest"),
            models.Index(fields=["submitted_at", "id"], name="service_request_oldest"),
            models.Index(
                fields=["due_on"], condition=Q(state__in=SERVICE_REQUEST_OPEN), name="service_request_open_due"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    def get_absolute_url(self) -> str:
        return reverse("teams:service_request_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    @property
    def resolved_within_limit(self) -> bool | None:
        return None if self.resolved_on is None else self.resolved_on <= self.due_on


class ServiceRequestEvent(ChoiceLabelsMixin, models.Model):
    """Append-only history of a request: every step of its workflow."""

    request = models.ForeignKey(
        ServiceRequest, on_delete=models.PROTECT, related_name="events", verbose_name=_("service request")
    )
    action = models.CharField(_("action"), max_length=60)
    from_state = models.CharField(_("from state"), max_length=12, choices=ServiceRequestState.choices, blank=True)
    to_state = models.CharField(_("to state"), max_length=12, choices=ServiceRequestState.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
        help_text=_("Empty when the portal acted on schedule."),
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        verbose_name = _("service request event")
        verbose_name_plural = _("service request history")
        ordering = ["request", "at", "pk"]

    def __str__(self) -> str:  # the states in words: the admin shows it above each history row
        return f"{self.request_id}: {self.get_from_state_display() or '-'} → {self.get_to_state_display()}"


class ServiceRequestMessage(models.Model):
    """A message on a request's page, from the applicant or from the line's staff."""

    request = models.ForeignKey(
        ServiceRequest, on_delete=models.PROTECT, related_name="messages", verbose_name=_("service request")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    from_staff = models.BooleanField(_("from the service line"))
    body = models.TextField(_("message"))
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        verbose_name = _("service request message")
        verbose_name_plural = _("service request messages")
        ordering = ["sent_at", "pk"]

    def __str__(self) -> str:
        return f"{self.request_id}: {self.body[:40]}"


def service_attachment_upload_to(instance, filename: str) -> str:
    return documents.random_name("service_requests", filename)


class ServiceRequestAttachment(models.Model):
    """A file attached to a request (when it was made) or to one of its messages."""

    request = models.ForeignKey(
        ServiceRequest, on_delete=models.PROTECT, related_name="attachments", verbose_name=_("service request")
    )
    message = models.ForeignKey(
        ServiceRequestMessage,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="attachments",
        verbose_name=_("message"),
    )
    file = documents.DocumentFileField(
        _("file"),
        upload_to=service_attachment_upload_to,
        max_length=200,
        download_view="teams:service_attachment_download",
    )
    original_name = models.CharField(_("original file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("service request attachment")
        verbose_name_plural = _("service request attachments")
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.original_name
