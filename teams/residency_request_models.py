"""Residency requests: an entity that is not resident asks to enter a sub-venue (DOMAIN.md, "The service
system"). Imported by teams/models.py, so the models belong to the teams app.

A request moves submitted → selected | declined | withdrawn by the table in teams/residency_requests.py
(RESIDENCY_REQUEST); selecting one starts the residency itself (teams.services.residency_select). At most
one request of an entity is open (submitted) at a time: a partial unique constraint says so.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from valley.models import ChoiceLabelsMixin


class ResidencyRequestStatus(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    SELECTED = "selected", _("selected")
    DECLINED = "declined", _("declined")
    WITHDRAWN = "withdrawn", _("withdrawn")


class ResidencyNeed(models.TextChoices):
    """What an entity asks a sub-venue for; more in the free text."""

    OFFICE = "office", _("office space")
    PILOT = "pilot", _("pilot-scale space")
    LAB = "lab", _("laboratory space")
    EQUIPMENT = "equipment", _("shared equipment")


class ResidencyRequest(ChoiceLabelsMixin, models.Model):
    Status = ResidencyRequestStatus
    Need = ResidencyNeed

    entity = models.ForeignKey(
        "teams.Entity", on_delete=models.PROTECT, related_name="residency_requests", verbose_name=_("entity")
    )
    sub_venue = models.ForeignKey(
        "valley.SubVenue", on_delete=models.PROTECT, related_name="residency_requests", verbose_name=_("sub-venue")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ResidencyRequestStatus.choices, default=ResidencyRequestStatus.SUBMITTED
    )
    reason = models.TextField(_("why this sub-venue"))
    # Codes of ResidencyNeed (a list: SQLite runs the portal too, so no ArrayField).
    needs = models.JSONField(_("needs"), blank=True, default=list)
    needs_detail = models.TextField(_("what else it needs"), blank=True)
    documents = models.ManyToManyField(
        "teams.Document", blank=True, related_name="residency_requests", verbose_name=_("documents")
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("submitted by")
    )
    submitted_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("reason given"), blank=True)
    residency = models.OneToOneField(
        "teams.Residency",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="residency_request",
        verbose_name=_("residency"),
    )

    class Meta:
        verbose_name = _("residency request")
        verbose_name_plural = _("residency requests")
        ordering = ["submitted_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["entity"],
                condition=Q(status=ResidencyRequestStatus.SUBMITTED),
                name="residency_request_one_open",
            ),
            models.CheckConstraint(
                condition=~Q(status=ResidencyRequestStatus.DECLINED) | ~Q(decision_reason=""),
                name="residency_request_declined_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status=ResidencyRequestStatus.SELECTED) | Q(residency__isnull=False),
                name="residency_request_selected_has_residency",
            ),
        ]
        indexes = [models.Index(fields=["sub_venue", "status", "submitted_at"], name="resreq_queue_idx")]

    def __str__(self) -> str:
        return f"{self.entity} → {self.sub_venue} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("teams:residency_request_detail", args=[self.pk])

    def need_labels(self) -> list[str]:
        labels = dict(ResidencyNeed.choices)
        return [str(labels.get(code, code)) for code in self.needs]


class ResidencyRequestEvent(ChoiceLabelsMixin, models.Model):
    """Append-only history: one row per step of a residency request."""

    request = models.ForeignKey(
        ResidencyRequest, on_delete=models.PROTECT, related_name="events", verbose_name=_("residency request")
    )
    action = models.CharField(_("action"), max_length=60)  # e.g. teams.residency_request.select
    from_status = models.CharField(_("from status"), max_length=10, choices=ResidencyRequestStatus.choices, blank=True)
    to_status = models.CharField(_("to status"), max_length=10, choices=ResidencyRequestStatus.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        verbose_name = _("residency request event")
        verbose_name_plural = _("residency request history")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        moved = f"{self.get_from_status_display()} → " if self.from_status else ""
        return f"{moved}{self.get_to_status_display()}"
