"""The valley itself: sub-venues, institutions, focus areas, services, targets, and the portal's users."""

import re
import uuid

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

_CHOICE_LABELS: dict = {}


class ChoiceLabelsMixin:
    """get_FOO_display() from a dict made once per field, for models listed by the hundred.

    Django's own builds the dict of a field's choices on every call, hashing each (lazy, hence
    translated) label: for a state field with a dozen states that is a dozen translations per row.
    The labels stay lazy here, so each call still answers in the active language.
    """

    def _get_FIELD_display(self, field):
        labels = _CHOICE_LABELS.get(field)
        if labels is None:
            labels = _CHOICE_LABELS[field] = dict(make_hashable(field.flatchoices))
        value = getattr(self, field.attname)
        return force_str(labels.get(make_hashable(value), value), strings_only=True)


class BilingualNameMixin(models.Model):
    """A name kept in Simplified Chinese and English; `name` picks the one for the active language."""

    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        language = get_language() or "zh-hans"
        if language.startswith("zh"):
            return self.name_zh or self.name_en
        return self.name_en or self.name_zh


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


# Han characters (the CJK Unified Ideographs and their extension A): a name written in them is Chinese.
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")


class User(AbstractUser):
    """A person who signs in with an e-mail address. Roles are groups (see valley.core.roles)."""

    username = None
    email = models.EmailField(_("e-mail address"), unique=True)
    email_confirmed_at = models.DateTimeField(_("e-mail confirmed at"), null=True, blank=True)
    sub_venues = models.ManyToManyField(
        "valley.SubVenue",
        blank=True,
        related_name="operators",
        verbose_name=_("operated sub-venues"),
        help_text=_("For sub-venue operators: the sub-venues whose records this person may work on."),
    )
    service_lines = models.ManyToManyField(
        "valley.ServiceLine",
        blank=True,
        related_name="staff",
        verbose_name=_("service lines"),
        help_text=_("For service-line staff: the service lines whose requests this person handles."),
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []
    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def get_full_name(self) -> str:
        """The name as its owner writes it: a Chinese name family name first and without a space (王小明),
        a Western one given name first ("Ming Wang")."""
        first, last = self.first_name.strip(), self.last_name.strip()
        if _CJK.search(first + last):
            return f"{last}{first}"
        return " ".join(part for part in (first, last) if part)

    def __str__(self) -> str:
        full = self.get_full_name()
        return f"{full} <{self.email}>" if full else self.email


def name_fields_in_reading_order() -> tuple[str, str]:
    """The user's two name fields in the order the reader writes a name: a Chinese reader puts the family
    name first (姓, then 名), an English one the given name."""
    language = get_language() or ""
    return ("last_name", "first_name") if language.lower().startswith("zh") else ("first_name", "last_name")


class Valley(BilingualNameMixin):
    """The Shanxi Innovation Valley. There is one; it is a row so staff can edit its texts."""

    opened_on = models.DateField(_("opened on"))
    launch_venue_zh = models.CharField(_("launch venue (Chinese)"), max_length=200, blank=True)
    launch_venue_en = models.CharField(_("launch venue (English)"), max_length=200, blank=True)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)

    class Meta:
        verbose_name = _("valley")
        verbose_name_plural = _("valley")

    @property
    def description(self) -> str:
        return self.description_zh if (get_language() or "zh").startswith("zh") else self.description_en


class SubVenue(BilingualNameMixin):
    class Status(models.TextChoices):
        PLANNED = "planned", _("planned")
        OPEN = "open", _("open")
        CLOSED = "closed", _("closed")

    valley = models.ForeignKey(Valley, on_delete=models.PROTECT, related_name="sub_venues", verbose_name=_("valley"))
    code = models.SlugField(_("code"), max_length=40, unique=True)
    city_zh = models.CharField(_("city (Chinese)"), max_length=60)
    city_en = models.CharField(_("city (English)"), max_length=60)
    host_institution = models.CharField(_("host institution"), max_length=200, blank=True)
    opened_on = models.DateField(_("opened on"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PLANNED)

    class Meta:
        verbose_name = _("sub-venue")
        verbose_name_plural = _("sub-venues")
        ordering = [models.F("opened_on").asc(nulls_last=True), "code"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="open") | models.Q(opened_on__isnull=False),
                name="subvenue_open_has_opening_date",
            )
        ]

    @property
    def city(self) -> str:
        return self.city_zh if (get_language() or "zh").startswith("zh") else self.city_en


class Institution(BilingualNameMixin):
    class Kind(models.TextChoices):
        UNIVERSITY = "university", _("university")
        RESEARCH_INSTITUTE = "institute", _("research institute")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    short_name = models.CharField(_("short name"), max_length=40, blank=True)
    city_zh = models.CharField(_("city (Chinese)"), max_length=60, blank=True)
    city_en = models.CharField(_("city (English)"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")
        ordering = ["name_en"]
        constraints = [models.UniqueConstraint(fields=["name_en"], name="institution_name_en_unique")]


class FocusArea(BilingualNameMixin):
    code = models.SlugField(_("code"), max_length=40, unique=True)

    class Meta:
        verbose_name = _("focus area")
        verbose_name_plural = _("focus areas")
        ordering = ["code"]


class ServiceLine(BilingualNameMixin):
    """One of the services the valley offers its residents (achievement transformation, finance, ...)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    time_limit_working_days = models.PositiveSmallIntegerField(
        _("time limit (working days)"),
        default=5,
        help_text=_("The time limit: a request is due this many working days after the day it was submitted."),
    )
    lead = models.ForeignKey(
        "valley.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="led_service_lines",
        verbose_name=_("line lead"),
        help_text=_("Told by mail, once per request, when a request of this line is overdue."),
    )

    class Meta:
        verbose_name = _("service line")
        verbose_name_plural = _("service lines")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(time_limit_working_days__gte=1), name="serviceline_time_limit_positive"
            )
        ]

    @property
    def description(self) -> str:
        return self.description_zh if (get_language() or "zh").startswith("zh") else self.description_en


class Target(BilingualNameMixin):
    """A goal of the valley, such as 1,000 transformed achievements. `measure` says how progress is counted."""

    class Measure(models.TextChoices):
        ACHIEVEMENTS_TRANSFORMED = "achievements_transformed", _("achievements at the transformed stage")
        ENTERPRISES_CULTIVATED = "enterprises_cultivated", _("registered startups in the valley")
        MANUAL = "manual", _("counted by staff (the recorded value)")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    target_value = models.PositiveIntegerField(_("target value"))
    measure = models.CharField(_("how progress is counted"), max_length=40, choices=Measure.choices)
    recorded_value = models.PositiveIntegerField(
        _("recorded value"), default=0, help_text=_("Used only when progress is counted by staff.")
    )
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering = ["sort_order", "code"]
        constraints = [models.CheckConstraint(condition=models.Q(target_value__gt=0), name="target_value_positive")]


class CalendarDay(models.Model):
    """A day the official calendar treats unlike its weekday: a public holiday, or a make-up working day
    (调休) that falls on a weekend. Staff enter each year's days from the State Council's notice; every
    deadline counted in working days is computed from them (valley.core.calendar), never from weekdays alone."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("official holiday")
        MAKE_UP_WORKING_DAY = "working", _("make-up working day")

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name_zh = models.CharField(_("name (Chinese)"), max_length=60, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("working-day calendar")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.get_kind_display()}"


# Provisional ids of pending audit entries start above this; a chain position never reaches it.
AUDIT_PENDING_FROM = 1 << 62


# What an audit entry keeps of where it came from: an IPv6 address written out, a browser's User-Agent cut here.
SOURCE_ADDRESS_MAX_LENGTH = 45
USER_AGENT_MAX_LENGTH = 300


class AuditOutcome(models.TextChoices):
    """How an audited action ended. success: done; failed: attempted and not achieved (a wrong password);
    refused: the portal would not let it happen (a locked-out login, a permission denied)."""

    SUCCESS = "success", _("success")
    FAILED = "failed", _("failed")
    REFUSED = "refused", _("refused")


class AuditEntry(models.Model):
    """One line of the tamper-evident audit log. Rows are appended by valley.audit.record, and changed
    once: when they are sealed into the chain (valley.audit.seal); the database refuses any other UPDATE and
    every DELETE (valley.audit.guard).

    A written entry is pending: its id is provisional (above PENDING_FROM, from a sequence, so writers
    never wait for each other) and it has no hashes. Sealing gives it the next chain position as its id
    and `hash`, SM3 (or, for entries sealed before SM3, SHA-256: `hash_algorithm` says which) over the
    entry's content and the previous entry's hash (see valley.audit.entry_digest), so changing or
    deleting any sealed row breaks the chain from there on.
    Sealed ids run 1, 2, 3 … without gaps.
    """

    PENDING_FROM = AUDIT_PENDING_FROM

    id = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField(_("at"), db_index=True)
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("actor")
    )
    actor_email = models.CharField(_("actor e-mail"), max_length=254, blank=True)
    action = models.CharField(_("action"), max_length=80, db_index=True)
    object_type = models.CharField(_("object type"), max_length=60, blank=True)
    object_id = models.CharField(_("object id"), max_length=40, blank=True)
    before = models.JSONField(_("values before"), null=True, blank=True)
    after = models.JSONField(_("values after"), null=True, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64, null=True, blank=True)
    hash = models.CharField(_("hash"), max_length=64, unique=True, null=True, blank=True)
    # "sha256" or "sm3", set when sealed (empty while pending): a chain begun with SHA-256 goes on with SM3.
    hash_algorithm = models.CharField(_("hash algorithm"), max_length=10, blank=True, default="")
    # Where the action came from, and how it ended (valley.audit.chain: the request's context). Empty
    # address for tasks and commands, whose agent reads "task:<name>" / "command:<name>".
    source_address = models.CharField(_("source address"), max_length=SOURCE_ADDRESS_MAX_LENGTH, blank=True, default="")
    user_agent = models.CharField(_("user agent"), max_length=USER_AGENT_MAX_LENGTH, blank=True, default="")
    outcome = models.CharField(_("outcome"), max_length=10, choices=AuditOutcome.choices, blank=True, default="")
    # Which text the hash covers, set when sealed (0 while pending): 1 for entries sealed before the source
    # and outcome were recorded (the text without them), 2 since (valley.audit.entry_digest).
    hash_format = models.PositiveSmallIntegerField(_("hash format"), default=0)

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ["id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
        constraints = [
            # Sealed (a chain position, both hashes) or pending (a provisional id, no hashes): nothing between.
            models.CheckConstraint(
                condition=(
                    models.Q(id__lte=AUDIT_PENDING_FROM, prev_hash__isnull=False, hash__isnull=False)
                    | models.Q(id__gt=AUDIT_PENDING_FROM, prev_hash__isnull=True, hash__isnull=True)
                ),
                name="audit_entry_sealed_or_pending",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action}" if self.sealed else f"(pending) {self.action}"

    @property
    def sealed(self) -> bool:
        return self.pk is not None and self.pk <= self.PENDING_FROM


class AuditChainHead(models.Model):
    """The single row that holds the end of the chain: `last_id` is the last sealed entry's id (its chain
    position). Locking it serialises sealing, not writing: writers never touch it."""

    last_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("audit chain head")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_single_row")]

    def __str__(self) -> str:
        return f"#{self.last_id} {self.last_hash[:12]}"


class OutboxMessage(models.Model):
    """A Celery task to send, written in the same transaction as the change it is about (transactional outbox).

    valley.messaging.outbox publishes it after commit; when the broker is down the row waits and the sweeper
    (beat, every OUTBOX_SWEEP_SECONDS, and each worker at start) publishes it once the broker is back.
    `task_id` is the Celery task id it is published with; a task whose effect must happen once (a mail)
    records `done_at` on its row, so a message published twice still acts once.
    """

    task_id = models.UUIDField(_("task id"), default=uuid.uuid4, unique=True, editable=False)
    task = models.CharField(_("task"), max_length=200)
    kwargs = models.JSONField(_("arguments"), default=dict, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("publishing attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    # The request (or task) that queued it: the worker's log lines carry it even when the sweeper sends it later.
    request_id = models.CharField(_("request id"), max_length=128, blank=True, default="")

    class Meta:
        verbose_name = _("queued task")
        verbose_name_plural = _("queued tasks (outbox)")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"], condition=models.Q(published_at__isnull=True), name="valley_outbox_unpublished"
            )
        ]

    def __str__(self) -> str:
        return f"{self.task} {self.task_id}"


class ReminderSent(models.Model):
    """A reminder that went out: one row per subject (a report, a request: any model) and kind ("before_14",
    "due", "overdue_2" …), written in the transaction that queues its mail (valley.messaging.reminders).
    The unique constraint is what makes a reminder go out once, however often and however many schedules
    run at once."""

    subject_type = models.CharField(_("subject type"), max_length=60)  # the model's label, e.g. "app.model"
    subject_id = models.CharField(_("subject id"), max_length=40)
    kind = models.CharField(_("kind"), max_length=30)
    due_on = models.DateField(_("due on"))
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        verbose_name = _("reminder sent")
        verbose_name_plural = _("reminders sent")
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["subject_type", "subject_id", "kind"], name="reminder_sent_once"),
        ]

    def __str__(self) -> str:
        return f"{self.subject_type} {self.subject_id} {self.kind}"


class PasswordUsed(models.Model):
    """A password a person set, kept as its hash so a new password cannot be one of their last five
    (valley.accounts.passwords.RecentPasswordValidator writes these through Django's password_changed hook)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="passwords_used", verbose_name=_("user"))
    password = models.CharField(_("password hash"), max_length=128)
    set_at = models.DateTimeField(_("set at"), default=timezone.now)

    class Meta:
        verbose_name = _("password used")
        verbose_name_plural = _("passwords used")
        ordering = ["-set_at", "-pk"]
        indexes = [models.Index(fields=["user", "-set_at"], name="password_used_latest")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.set_at:%Y-%m-%d}"


class Guide(BilingualNameMixin):
    """The service guide (办事指南) of one service: the start-up fund, residency, or a service line.

    `name_zh`/`name_en` are its title; every other text is kept in both languages too and read through
    `text("field")` in the reader's language. Staff edit guides in the admin; valley/guides shows them.
    """

    service = models.SlugField(
        _("service code"),
        max_length=40,
        unique=True,
        help_text=_("How pages link to the guide: “fund”, “residency” or a service line's code."),
    )
    service_line = models.OneToOneField(
        ServiceLine,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="guide",
        verbose_name=_("service line"),
    )
    who_may_apply_zh = models.TextField(_("who may apply (Chinese)"))
    who_may_apply_en = models.TextField(_("who may apply (English)"))
    materials_zh = models.TextField(_("materials (Chinese)"))
    materials_en = models.TextField(_("materials (English)"))
    steps_zh = models.TextField(_("steps (Chinese)"))
    steps_en = models.TextField(_("steps (English)"))
    time_limit_working_days = models.PositiveSmallIntegerField(
        _("time limit (working days)"), null=True, blank=True, help_text=_("Empty when the limit is described below.")
    )
    time_limit_zh = models.CharField(_("time limit (Chinese)"), max_length=300, blank=True)
    time_limit_en = models.CharField(_("time limit (English)"), max_length=300, blank=True)
    fee_zh = models.CharField(_("fee (Chinese)"), max_length=200, default="免费")
    fee_en = models.CharField(_("fee (English)"), max_length=200, default="None (free of charge)")
    contact_zh = models.TextField(_("contact (Chinese)"))
    contact_en = models.TextField(_("contact (English)"))
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("service guide")
        verbose_name_plural = _("service guides")
        ordering = ["sort_order", "service"]

    def text(self, field: str) -> str:
        """The field in the reader's language (the other one when it is empty)."""
        zh, en = getattr(self, f"{field}_zh"), getattr(self, f"{field}_en")
        return (zh or en) if (get_language() or "zh-hans").startswith("zh") else (en or zh)

    @property
    def who_may_apply(self) -> str:
        return self.text("who_may_apply")

    @property
    def materials(self) -> str:
        return self.text("materials")

    @property
    def steps(self) -> str:
        return self.text("steps")

    @property
    def time_limit(self) -> str:
        return self.text("time_limit")

    @property
    def fee(self) -> str:
        return self.text("fee")

    @property
    def contact(self) -> str:
        return self.text("contact")


# ------------------------------------------------------------------ personal data (valley.privacy)


class PrivacyNotice(models.Model):
    """One version of the privacy notice. A version someone consented to is never edited (the admin shows it
    read-only): a change is a new version, and people are asked to consent to it (valley.privacy)."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    effective_on = models.DateField(_("in force from"))
    text_zh = models.TextField(_("text (Chinese)"))
    text_en = models.TextField(_("text (English)"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("privacy notice")
        verbose_name_plural = _("privacy notices")
        ordering = ["-version"]

    def __str__(self) -> str:
        return _("Privacy notice, version %(version)s") % {"version": self.version}

    @property
    def text(self) -> str:
        language = get_language() or "zh-hans"
        if language.startswith("zh"):
            return self.text_zh or self.text_en
        return self.text_en or self.text_zh


class PrivacyPurpose(models.Model):
    """A purpose the notice names, the personal data it uses and its legal basis (PIPL art. 13)."""

    class LegalBasis(models.TextChoices):
        CONSENT = "consent", _("the person's consent")
        CONTRACT = "contract", _("necessary for a contract the person is party to (the fund's application and grant)")
        LEGAL_DUTY = "legal_duty", _("necessary for a statutory duty (finance and audit law)")
        PUBLIC_INTEREST = "public_interest", _("public notice and supervision in the public interest")
        PUBLIC_INFO = "public_info", _("information the person or the law has already made public")

    notice = models.ForeignKey(
        PrivacyNotice, on_delete=models.CASCADE, related_name="purposes", verbose_name=_("privacy notice")
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    purpose_zh = models.CharField(_("purpose (Chinese)"), max_length=300)
    purpose_en = models.CharField(_("purpose (English)"), max_length=300)
    data_zh = models.CharField(_("personal data used (Chinese)"), max_length=300)
    data_en = models.CharField(_("personal data used (English)"), max_length=300)
    legal_basis = models.CharField(_("legal basis"), max_length=20, choices=LegalBasis.choices)

    class Meta:
        verbose_name = pgettext_lazy("personal data", "purpose")
        verbose_name_plural = _("purposes")
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.purpose

    @property
    def purpose(self) -> str:
        return self.purpose_zh if (get_language() or "zh-hans").startswith("zh") else self.purpose_en

    @property
    def data(self) -> str:
        return self.data_zh if (get_language() or "zh-hans").startswith("zh") else self.data_en


class Consent(models.Model):
    """A person accepted one version of the privacy notice, at this time. Kept after the account is anonymised
    (the proof that the processing had its basis), pointing at the anonymised account."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="consents", verbose_name=_("user"))
    notice = models.ForeignKey(
        PrivacyNotice, on_delete=models.PROTECT, related_name="consents", verbose_name=_("notice")
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-at"]
        constraints = [models.UniqueConstraint(fields=["user", "notice"], name="consent_once_per_version")]

    def __str__(self) -> str:
        return f"{self.user_id} v{self.notice_id} {self.at:%Y-%m-%d}"


class DeletionRequest(ChoiceLabelsMixin, models.Model):
    """A person asked for their account to be deleted. During the grace period they may cancel; after it,
    beat anonymises the account (valley.privacy.services.deletion_anonymise). Its timestamps are its history."""

    class State(models.TextChoices):
        REQUESTED = "requested", pgettext_lazy("deletion request", "requested")
        CANCELLED = "cancelled", _("cancelled")
        ANONYMISED = "anonymised", _("carried out")

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="deletion_requests", verbose_name=_("user"))
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.REQUESTED)
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    due_on = models.DateField(_("anonymised on or after"))
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True)

    class Meta:
        verbose_name = _("account deletion request")
        verbose_name_plural = _("account deletion requests")
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(state="requested"), name="deletion_request_one_open"
            )
        ]
        indexes = [models.Index(fields=["state", "due_on"], name="deletion_request_due")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.state}"
