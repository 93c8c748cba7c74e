"""Who is in the valley: research teams and startups, their people, residencies and achievements.

One `Entity` model with a `kind` rather than two models: a research team that is granted the
start-up fund becomes a startup in place (its registration is recorded and its kind changes), so
its members, achievements, applications and history stay on the same row with nothing to copy.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from teams.uscc import validate_uscc
from valley.core import documents
from valley.models import BilingualNameMixin


class Entity(BilingualNameMixin):
    class Kind(models.TextChoices):
        RESEARCH_TEAM = "team", _("research team")
        STARTUP = "startup", _("startup")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.RESEARCH_TEAM)
    institution = models.ForeignKey(
        "valley.Institution", on_delete=models.PROTECT, related_name="entities", verbose_name=_("origin institution")
    )
    focus_area = models.ForeignKey(
        "valley.FocusArea", on_delete=models.PROTECT, related_name="entities", verbose_name=_("focus area")
    )
    summary = models.TextField(_("summary"), blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entities",
        verbose_name=_("applicant account"),
        help_text=_("The applicant account that keeps this profile; empty for records kept by staff."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("team or startup")
        verbose_name_plural = _("teams and startups")
        ordering = ["name_zh"]
        indexes = [
            models.Index(fields=["kind", "focus_area"]),
            models.Index(fields=["institution"]),
            models.Index(fields=["name_zh", "id"], name="entity_name_idx"),  # the lists' order (pages, API, admin)
        ]

    def get_absolute_url(self) -> str:
        return reverse("teams:entity_detail", args=[self.pk])


class Member(models.Model):
    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="members", verbose_name=_("entity"))
    name = models.CharField(_("full name"), max_length=100)
    role = models.CharField(_("role"), max_length=100, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    is_lead = models.BooleanField(_("team lead"), default=False)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["-is_lead", "name"]
        constraints = [
            models.UniqueConstraint(fields=["entity"], condition=Q(is_lead=True), name="member_one_lead_per_entity")
        ]

    def __str__(self) -> str:
        return self.name


class ResidencyStatus(models.TextChoices):
    """Where a residency stands; teams/workflow.py (RESIDENCY) says how it moves. Defined out here so the
    constraints in Residency.Meta can name its members (a nested class cannot see its outer class)."""

    SELECTED = "selected", _("selected")
    ENTERED = "entered", _("entered")
    GRADUATED = "graduated", _("graduated")
    EXITED = "exited", _("exited")


# The states with a way out of RESIDENCY (tests/teams/test_workflow.py checks that the table agrees).
RESIDENCY_ACTIVE = (ResidencyStatus.SELECTED, ResidencyStatus.ENTERED)


class Residency(models.Model):
    """An entity's stay in a sub-venue. At most one is active (selected or entered) at a time."""

    Status = ResidencyStatus
    ACTIVE_STATUSES = RESIDENCY_ACTIVE

    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="residencies", verbose_name=_("entity"))
    sub_venue = models.ForeignKey(
        "valley.SubVenue", on_delete=models.PROTECT, related_name="residencies", verbose_name=_("sub-venue")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SELECTED)
    selected_on = models.DateField(_("selected on"))
    entered_on = models.DateField(_("entered on"), null=True, blank=True)
    ended_on = models.DateField(_("graduated or exited on"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("residency")
        verbose_name_plural = _("residencies")
        ordering = ["-selected_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["entity"], condition=Q(status__in=RESIDENCY_ACTIVE), name="residency_one_active"
            ),
            models.CheckConstraint(
                condition=Q(entered_on__isnull=True) | Q(entered_on__gte=models.F("selected_on")),
                name="residency_entered_after_selected",
            ),
            models.CheckConstraint(
                condition=Q(status__in=RESIDENCY_ACTIVE) | Q(ended_on__isnull=False),
                name="residency_ended_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[ResidencyStatus.ENTERED, ResidencyStatus.GRADUATED])
                | Q(entered_on__isnull=False),
                name="residency_entered_has_date",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("selected_on")),
                name="residency_ended_after_selected",
            ),
        ]
        indexes = [models.Index(fields=["sub_venue", "status"])]

    def __str__(self) -> str:
        return f"{self.entity} @ {self.sub_venue} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


class Achievement(models.Model):
    """A scientific and technological achievement (科技成果) on its way from lab to company."""

    class Kind(models.TextChoices):
        PATENT = "patent", _("patent")
        SOFTWARE_COPYRIGHT = "software", _("software copyright")
        KNOW_HOW = "know_how", _("know-how")
        OTHER = "other", _("other")

    class Stage(models.TextChoices):
        LAB = "lab", _("laboratory")
        PILOT = "pilot", _("pilot-scale")
        INCUBATION = "incubation", _("incubation")
        TRANSFORMED = "transformed", _("transformed")

    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="achievements", verbose_name=_("entity"))
    title = models.CharField(_("title"), max_length=300)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices, default=Stage.LAB)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("achievement")
        verbose_name_plural = _("achievements")
        ordering = ["title"]
        indexes = [models.Index(fields=["stage"])]

    def __str__(self) -> str:
        return self.title


class AchievementStageChange(models.Model):
    """Append-only: one row each time an achievement moves to another stage."""

    achievement = models.ForeignKey(
        Achievement, on_delete=models.CASCADE, related_name="stage_changes", verbose_name=_("achievement")
    )
    from_stage = models.CharField(_("from stage"), max_length=12, choices=Achievement.Stage.choices, blank=True)
    to_stage = models.CharField(_("to stage"), max_length=12, choices=Achievement.Stage.choices)
    changed_on = models.DateField(_("changed on"))
    changed_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("achievement stage change")
        verbose_name_plural = _("achievement stage changes")
        ordering = ["changed_on", "pk"]

    def __str__(self) -> str:
        return f"{self.achievement}: {self.from_stage or '-'} → {self.to_stage}"


class Registration(models.Model):
    """The registered company of a startup, as verified by government staff."""

    entity = models.OneToOneField(
        Entity, on_delete=models.PROTECT, related_name="registration", verbose_name=_("entity")
    )
    company_name = models.CharField(_("registered company name"), max_length=200)
    uscc = models.CharField(_("Unified Social Credit Code"), max_length=18, unique=True, validators=[validate_uscc])
    registered_on = models.DateField(_("registration date"))
    registered_capital = models.DecimalField(_("registered capital (yuan)"), max_digits=14, decimal_places=2)
    paid_in_capital = models.DecimalField(_("paid-in capital (yuan)"), max_digits=14, decimal_places=2)
    legal_representative = models.CharField(_("legal representative"), max_length=100)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("verified by"),
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)

    class Meta:
        verbose_name = _("company registration")
        verbose_name_plural = _("company registrations")
        constraints = [
            models.CheckConstraint(condition=Q(registered_capital__gt=0), name="registration_capital_positive"),
            models.CheckConstraint(
                condition=Q(paid_in_capital__gte=0) & Q(paid_in_capital__lte=models.F("registered_capital")),
                name="registration_paid_in_within_registered",
            ),
            models.CheckConstraint(
                condition=Q(uscc__regex=r"^[0-9A-HJ-NPQRTUWXY]{18}$"), name="registration_uscc_format"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company_name} ({self.uscc})"


def document_upload_to(instance, filename: str) -> str:
    # A random name (valley.core.documents): the original is kept in `original_name`, never used as a path.
    return documents.random_name("documents", filename)


class Document(models.Model):
    """A file an applicant or staff uploaded for an entity. Served only through a permission-checking view."""

    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="documents", verbose_name=_("entity"))
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(_("file"), upload_to=document_upload_to, max_length=200)
    original_name = models.CharField(_("original file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.title


# Residency requests and residents' service requests live in their own modules
# (teams/residency_request_models.py, teams/service_models.py); imported here so that Django finds them as
# models of this app.
from teams.residency_request_models import ResidencyRequest, ResidencyRequestEvent  # noqa: E402, F401
from teams.service_models import (  # noqa: E402, F401
    ServiceRequest,
    ServiceRequestAttachment,
    ServiceRequestEvent,
    ServiceRequestMessage,
)
