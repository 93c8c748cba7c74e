"""The one-time start-up fund: policy, sub-venue budgets, applications and their history.

Money rules live in the database, not only in forms:
- an application carries the policy limits in force when it was submitted, and CHECK constraints keep
  its amounts within them (and within the paid-in-capital share once the company is registered);
- partial unique indexes allow one open application and one grant per entity, ever;
- budgets and disbursed totals are counters guarded by CHECK constraints, updated under row locks.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from funding.messages import register_choices
from funding.messages import render as render_message
from valley.models import ChoiceLabelsMixin
from valley.templatetags.valley_format import amount, yuan

MONEY = {"max_digits": 14, "decimal_places": 2}


class FundPolicy(models.Model):
    """One version of the fund's rules. Versions are never edited: a change adds a new row."""

    min_amount = models.DecimalField(_("minimum amount (yuan)"), **MONEY, default=Decimal("300000.00"))
    max_amount = models.DecimalField(_("maximum amount (yuan)"), **MONEY, default=Decimal("1000000.00"))
    max_paid_in_share = models.DecimalField(
        _("maximum share of paid-in capital"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.500"),
        help_text=_("0.500 means the grant may be at most 50% of the registered company's paid-in capital."),
    )
    notice_days = models.PositiveSmallIntegerField(_("public notice (days)"), default=7)
    # A demo valley's policy (seed_demo) lets a newcomer walk a grant to its end in minutes rather than wait a
    # week for the notice: the notice then lasts these minutes instead of the days. Only a version marked as a
    # demo may have it (the CHECK below), and only a portal with FUNDING_DEMO_POLICIES (never DEBUG off) honours
    # it; elsewhere the days apply, so a demo version restored into production shortens nothing.
    is_demo = models.BooleanField(_("demo policy"), default=False)
    notice_minutes = models.PositiveIntegerField(
        _("public notice (minutes, demo only)"),
        null=True,
        blank=True,
        help_text=_("Demo policies only: the public notice lasts these minutes instead of the days."),
    )
    # The instalment plan of the funding agreement, in percent of the approved amount (DOMAIN.md "After the
    # grant"): three instalments, each share positive and together exactly 100 (the CHECK below).
    first_share = models.DecimalField(
        _("first instalment (%)"), max_digits=5, decimal_places=2, default=Decimal("20.00")
    )
    second_share = models.DecimalField(
        _("second instalment (%)"), max_digits=5, decimal_places=2, default=Decimal("50.00")
    )
    third_share = models.DecimalField(
        _("third instalment (%)"), max_digits=5, decimal_places=2, default=Decimal("30.00")
    )
    report_due_days = models.PositiveSmallIntegerField(_("fund-use report due (days after an instalment)"), default=90)
    effective_from = models.DateTimeField(_("effective from"), auto_now_add=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    reason = models.TextField(_("reason for the change"), blank=True)

    class Meta:
        verbose_name = _("fund policy")
        verbose_name_plural = _("fund policy versions")
        ordering = ["-effective_from", "-pk"]
        get_latest_by = ["effective_from", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_amount__gt=0) & Q(max_amount__gte=F("min_amount")), name="policy_limits_ordered"
            ),
            models.CheckConstraint(
                condition=Q(max_paid_in_share__gt=0) & Q(max_paid_in_share__lte=1), name="policy_share_fraction"
            ),
            models.CheckConstraint(condition=Q(notice_days__gte=1), name="policy_notice_at_least_a_day"),
            models.CheckConstraint(
                condition=Q(notice_minutes__isnull=True) | Q(is_demo=True, notice_minutes__gte=1),
                name="policy_notice_minutes_only_for_demo",
            ),
            models.CheckConstraint(
                condition=Q(first_share__gt=0, second_share__gt=0, third_share__gt=0)
                & Q(first_share=100 - F("second_share") - F("third_share")),
                name="policy_instalment_shares_add_up",
            ),
            models.CheckConstraint(condition=Q(report_due_days__gte=1), name="policy_report_due_at_least_a_day"),
        ]

    def __str__(self) -> str:
        # Shown wherever a version is named (the agreement names the one its plan came from): amounts and the
        # share pass through the same formatting as on the pages.
        return _("%(min)s–%(max)s yuan, ≤%(share)s of paid-in, %(notice)s") % {
            "min": amount(self.min_amount),
            "max": amount(self.max_amount),
            "share": f"{self.max_paid_in_share * 100:.2f}%",
            "notice": self.notice_label,
        }

    @property
    def notice_label(self) -> str:
        """The public notice as the version sets it: days, or a demo version's minutes."""
        if self.notice_minutes:
            return _("%(minutes)s minutes' notice (demo)") % {"minutes": self.notice_minutes}
        return _("%(days)s days' notice") % {"days": self.notice_days}

    @property
    def instalment_shares(self) -> tuple[Decimal, ...]:
        """The plan's shares in percent, in the order of the instalments."""
        return (self.first_share, self.second_share, self.third_share)


class SubVenueBudget(models.Model):
    """A sub-venue's fund budget for one year. Approvals reserve from it; disbursements draw on the reserve."""

    sub_venue = models.ForeignKey(
        "valley.SubVenue", on_delete=models.PROTECT, related_name="fund_budgets", verbose_name=_("sub-venue")
    )
    year = models.PositiveSmallIntegerField(_("year"))
    amount = models.DecimalField(_("budget (yuan)"), **MONEY)
    reserved = models.DecimalField(_("reserved by approvals (yuan)"), **MONEY, default=Decimal("0.00"))
    disbursed = models.DecimalField(_("disbursed (yuan)"), **MONEY, default=Decimal("0.00"))
    # Repaid by recoveries: the money comes back, so it leaves the reserve (and `remaining` grows by it), while
    # `disbursed` keeps what was ever paid out.
    recovered = models.DecimalField(_("recovered (yuan)"), **MONEY, default=Decimal("0.00"))

    class Meta:
        verbose_name = _("sub-venue budget")
        verbose_name_plural = _("sub-venue budgets")
        ordering = ["-year", "sub_venue"]
        constraints = [
            models.UniqueConstraint(fields=["sub_venue", "year"], name="budget_one_per_sub_venue_year"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="budget_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(reserved__gte=0) & Q(reserved__lte=F("amount")), name="budget_never_overspent"
            ),
            models.CheckConstraint(
                condition=Q(disbursed__gte=0) & Q(disbursed__lte=F("reserved") + F("recovered")),
                name="budget_disbursed_within_reserved",
            ),
            models.CheckConstraint(
                condition=Q(recovered__gte=0) & Q(recovered__lte=F("disbursed")),
                name="budget_recovered_within_disbursed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sub_venue} {self.year}"

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.reserved


class ApplicationState(models.TextChoices):
    """The states of an application (Application.State); funding.workflow.WORKFLOW moves between them."""

    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("submitted")
    FORMAL_REVIEW = "formal_review", _("formal review")
    EXPERT_REVIEW = "expert_review", _("expert review")
    AWAITING_DECISION = "awaiting_decision", _("awaiting decision")
    RETURNED = "returned", _("returned for changes")
    REJECTED = "rejected", _("rejected")
    WITHDRAWN = "withdrawn", _("withdrawn")
    PUBLIC_NOTICE = "public_notice", _("approved, public notice")
    REGISTRATION = "registration", _("registration verification")
    DISBURSEMENT = "disbursement", _("disbursement")
    RECOVERY = "recovery", _("recovery")
    CLOSED = "closed", _("closed")


# Not open: the application is over. Granted: the entity has had the fund (or is getting it). Defined once, at
# module level so that the constraints in Application.Meta can use them too (a nested class cannot see the
# class body around it); Application.ENDED_STATES and .GRANTED_STATES are the same tuples.
ENDED_STATES = (ApplicationState.REJECTED, ApplicationState.WITHDRAWN, ApplicationState.CLOSED)
GRANTED_STATES = (
    ApplicationState.PUBLIC_NOTICE,
    ApplicationState.REGISTRATION,
    ApplicationState.DISBURSEMENT,
    ApplicationState.RECOVERY,
    ApplicationState.CLOSED,
)


class Application(ChoiceLabelsMixin, models.Model):
    State = ApplicationState
    ENDED_STATES = ENDED_STATES
    GRANTED_STATES = GRANTED_STATES

    entity = models.ForeignKey(
        "teams.Entity", on_delete=models.PROTECT, related_name="fund_applications", verbose_name=_("entity")
    )
    sub_venue = models.ForeignKey(
        "valley.SubVenue",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="fund_applications",
        verbose_name=_("sub-venue"),
        help_text=_("The sub-venue of the entity's residency when it submitted."),
    )
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.DRAFT)
    amount = models.DecimalField(_("amount requested (yuan)"), **MONEY)
    purpose = models.CharField(_("purpose"), max_length=300)
    plan = models.TextField(_("plan"), help_text=_("How the money will turn the achievement into a company."))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)

    # The policy in force at submission, copied so the limits below are row-level checks.
    policy = models.ForeignKey(
        FundPolicy, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("policy")
    )
    min_amount = models.DecimalField(_("policy minimum"), **MONEY, null=True, blank=True)
    max_amount = models.DecimalField(_("policy maximum"), **MONEY, null=True, blank=True)
    max_paid_in_share = models.DecimalField(
        _("policy share of paid-in capital"), max_digits=4, decimal_places=3, null=True, blank=True
    )

    # The decision.
    approved_amount = models.DecimalField(_("approved amount (yuan)"), **MONEY, null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    budget = models.ForeignKey(
        SubVenueBudget,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="applications",
        verbose_name=_("budget reserved from"),
    )

    # Public notice.
    notice_ends_on = models.DateField(_("public notice ends on"), null=True, blank=True)
    # Only under a demo policy's notice in minutes (FundPolicy.notice_minutes): the moment it ends; notice_ends_on
    # then holds that moment's day, for the pages and exports that show the date.
    notice_ends_at = models.DateTimeField(_("public notice ends at"), null=True, blank=True)
    objection = models.TextField(_("objection during the notice"), blank=True)

    # Registration verification: the paid-in capital verified by staff, against which the share is checked.
    paid_in_capital = models.DecimalField(_("verified paid-in capital (yuan)"), **MONEY, null=True, blank=True)

    disbursed_total = models.DecimalField(_("disbursed so far (yuan)"), **MONEY, default=Decimal("0.00"))
    # When a recovery stops the grant, what was never paid leaves the budget's reserve at once (released), and
    # each repayment leaves it as it comes in (recovered).
    reserve_released = models.DecimalField(_("reserve released (yuan)"), **MONEY, default=Decimal("0.00"))
    recovered_total = models.DecimalField(_("recovered (yuan)"), **MONEY, default=Decimal("0.00"))
    # Who leads the handling among staff (claimed, or assigned by provincial staff or the sub-venue's operator):
    # funding.services.application_claim / application_assign_lead, each with its history row.
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="led_applications",
        verbose_name=_("lead"),
        help_text=_("The staff member who leads the handling of this application."),
    )
    documents = models.ManyToManyField(
        "teams.Document",
        blank=True,
        related_name="fund_applications",
        verbose_name=_("documents"),
        help_text=_("Files of the entity attached to this application (business plan, budget, patents)."),
    )

    class Meta:
        verbose_name = _("fund application")
        verbose_name_plural = _("fund applications")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["state", "-created_at"]),
            models.Index(fields=["sub_venue", "state"]),
            # The admin list's default order, and its sorting and year filter by submission (also the
            # work queues' order): each page reads 100 index entries instead of sorting 100,000 rows.
            models.Index(fields=["-created_at", "-id"], name="application_recent_idx"),
            models.Index(fields=["submitted_at", "id"], name="application_submitted_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["entity"],
                condition=~Q(state__in=ENDED_STATES),
                name="application_one_open_per_entity",
            ),
            models.UniqueConstraint(
                fields=["entity"],
                condition=Q(state__in=GRANTED_STATES),
                name="application_one_grant_per_entity",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="application_amount_positive"),
            # Once submitted, the amount stays within the limits copied from the policy. A draft withdrawn
            # before it was ever submitted never had limits copied onto it.
            models.CheckConstraint(
                condition=Q(state=ApplicationState.DRAFT)
                | Q(state=ApplicationState.WITHDRAWN, submitted_at__isnull=True)
                | (
                    Q(min_amount__isnull=False, max_amount__isnull=False, max_paid_in_share__isnull=False)
                    & Q(amount__gte=F("min_amount"), amount__lte=F("max_amount"))
                ),
                name="application_amount_within_policy",
            ),
            models.CheckConstraint(
                condition=Q(approved_amount__isnull=True)
                | (Q(approved_amount__gte=F("min_amount")) & Q(approved_amount__lte=F("amount"))),
                name="application_approved_within_request_and_policy",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=GRANTED_STATES) | Q(approved_amount__isnull=False, budget__isnull=False),
                name="application_granted_has_amount_and_budget",
            ),
            models.CheckConstraint(
                condition=Q(paid_in_capital__isnull=True)
                | Q(approved_amount__lte=F("paid_in_capital") * F("max_paid_in_share")),
                name="application_within_paid_in_share",
            ),
            models.CheckConstraint(
                condition=Q(disbursed_total__gte=0)
                & (Q(disbursed_total=0) | Q(disbursed_total__lte=F("approved_amount"))),
                name="application_instalments_within_approval",
            ),
            models.CheckConstraint(
                condition=Q(reserve_released=0, recovered_total=0)
                | Q(
                    reserve_released__gte=0,
                    recovered_total__gte=0,
                    recovered_total__lte=F("disbursed_total"),
                    reserve_released__lte=F("approved_amount") - F("disbursed_total"),
                ),
                name="application_recovery_within_disbursed",
            ),
        ]

    def __str__(self) -> str:
        return _("Application #%(id)s — %(entity)s") % {"id": self.pk, "entity": self.entity}

    @property
    def is_open(self) -> bool:
        return self.state not in self.ENDED_STATES

    @property
    def remaining_to_disburse(self) -> Decimal:
        return (self.approved_amount or Decimal("0")) - self.disbursed_total - self.reserve_released


class ApplicationEvent(ChoiceLabelsMixin, models.Model):
    """Append-only history: every transition and every money movement of an application."""

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="events", verbose_name=_("application")
    )
    action = models.CharField(_("action"), max_length=60)  # e.g. funding.application.approved
    from_state = models.CharField(_("from state"), max_length=20, choices=Application.State.choices, blank=True)
    to_state = models.CharField(_("to state"), max_length=20, choices=Application.State.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
        help_text=_("Empty when the portal acted on schedule."),
    )
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    comment = models.TextField(_("comment"), blank=True, help_text=_("Shown to the applicant."))
    # What the portal itself says about the step: a code of funding.messages.MESSAGES and its parameters,
    # rendered in the reader's language when read (a text stored here would be in one language for good).
    # The database defaults keep bulk loaders that name only the older columns working.
    message = models.CharField(_("message"), max_length=40, blank=True, default="", db_default="")
    params = models.JSONField(_("message parameters"), blank=True, default=dict, db_default={})
    internal_note = models.TextField(_("internal note"), blank=True, help_text=_("Seen by staff and auditors only."))

    class Meta:
        verbose_name = _("application event")
        verbose_name_plural = _("application history")
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["application", "at"]),
            # The admin history list's filters, each with its order (at): no sort of a million rows.
            models.Index(fields=["action", "at"], name="event_action_at_idx"),
            models.Index(fields=["to_state", "at"], name="event_to_state_at_idx"),
        ]

    def __str__(self) -> str:
        # Read where the admin names a row (deletions, inline headers): states in words, never codes.
        moved = f"{self.get_from_state_display()} → " if self.from_state and self.from_state != self.to_state else ""
        return f"{moved}{self.get_to_state_display()}"

    @property
    def text(self) -> str:
        """What the applicant reads of the step, in the active language: the portal's message, then the
        comment as staff typed it."""
        said = render_message(self.message, self.params) if self.message else ""
        return " ".join(part for part in (said, self.comment) if part)


class ExpertReview(models.Model):
    class Recommendation(models.TextChoices):
        APPROVE = "approve", _("approve")
        REVISE = "revise", _("approve after changes")
        REJECT = "reject", _("reject")

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="reviews", verbose_name=_("application")
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="fund_reviews", verbose_name=_("reviewer")
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("assigned by")
    )
    assigned_at = models.DateTimeField(_("assigned at"), auto_now_add=True)
    score = models.PositiveSmallIntegerField(_("score (0–100)"), null=True, blank=True)
    recommendation = models.CharField(_("recommendation"), max_length=10, choices=Recommendation.choices, blank=True)
    opinion = models.TextField(_("opinion"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("expert review")
        verbose_name_plural = _("expert reviews")
        ordering = ["assigned_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["application", "reviewer"], name="review_one_per_reviewer"),
            models.CheckConstraint(condition=Q(score__isnull=True) | Q(score__lte=100), name="review_score_0_100"),
            models.CheckConstraint(
                condition=Q(submitted_at__isnull=True) | (Q(score__isnull=False) & ~Q(recommendation="")),
                name="review_submitted_is_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} / {self.reviewer}"


class Disbursement(models.Model):
    """One instalment paid to the entity. Their sum never exceeds the approved amount."""

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="disbursements", verbose_name=_("application")
    )
    number = models.PositiveSmallIntegerField(_("instalment"))
    amount = models.DecimalField(_("amount (yuan)"), **MONEY)
    paid_on = models.DateField(_("paid on"))
    reference = models.CharField(_("payment reference"), max_length=100)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    # The accepted fund-use report that released this instalment (every instalment after the first has one, and
    # a report releases one instalment: eight staff pressing "release" at once pay once).
    released_by_report = models.OneToOneField(
        "FundUseReport",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="released_instalment",
        verbose_name=_("released on the report"),
    )
    # Instalments recorded before fund-use reports existed (set by migration 0006 only): they stand as paid.
    released_before_reports = models.BooleanField(_("released before fund-use reports"), default=False, editable=False)

    class Meta:
        verbose_name = _("disbursement")
        verbose_name_plural = _("disbursements")
        ordering = ["application", "number"]
        constraints = [
            models.UniqueConstraint(fields=["application", "number"], name="disbursement_instalment_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="disbursement_amount_positive"),
            models.CheckConstraint(
                condition=Q(number=1) | Q(released_by_report__isnull=False) | Q(released_before_reports=True),
                name="disbursement_later_needs_report",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.application_id}-{self.number}: {self.amount}"


class FundingAgreement(models.Model):
    """The funding agreement (资助协议) recorded when registration is verified: what was granted, for what,
    and the instalment plan taken from the policy version in force then (a later policy leaves it alone)."""

    application = models.OneToOneField(
        Application, on_delete=models.PROTECT, related_name="agreement", verbose_name=_("application")
    )
    amount = models.DecimalField(_("approved amount (yuan)"), **MONEY)
    purpose = models.CharField(_("purpose"), max_length=300)
    policy = models.ForeignKey(
        FundPolicy, on_delete=models.PROTECT, related_name="+", verbose_name=_("policy the plan was taken from")
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )

    class Meta:
        verbose_name = _("funding agreement")
        verbose_name_plural = _("funding agreements")
        ordering = ["-recorded_at", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="agreement_amount_positive")]

    def __str__(self) -> str:
        return _("Funding agreement of application #%(id)s") % {"id": self.application_id}


class AgreementMilestone(models.Model):
    """A milestone of the agreement. The list is replaced as a whole by services.agreement_amend_milestones,
    which keeps the earlier list in a MilestoneAmendment."""

    agreement = models.ForeignKey(
        FundingAgreement, on_delete=models.PROTECT, related_name="milestones", verbose_name=_("funding agreement")
    )
    order = models.PositiveSmallIntegerField(_("order"))
    title = models.CharField(_("milestone"), max_length=200)
    due_on = models.DateField(_("due on"))

    class Meta:
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        ordering = ["agreement", "order"]
        constraints = [models.UniqueConstraint(fields=["agreement", "order"], name="milestone_order_unique")]

    def __str__(self) -> str:
        return f"{self.order}. {self.title} ({self.due_on})"


class PlannedInstalment(models.Model):
    """One instalment of the agreement's plan: its share of the approved amount and the amount in yuan.
    The amounts add up to the agreement's amount exactly (services.instalment_split)."""

    agreement = models.ForeignKey(
        FundingAgreement, on_delete=models.PROTECT, related_name="instalments", verbose_name=_("funding agreement")
    )
    number = models.PositiveSmallIntegerField(_("instalment"))
    share = models.DecimalField(_("share (%)"), max_digits=5, decimal_places=2)
    amount = models.DecimalField(_("amount (yuan)"), **MONEY)

    class Meta:
        verbose_name = _("planned instalment")
        verbose_name_plural = _("planned instalments")
        ordering = ["agreement", "number"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "number"], name="planned_instalment_unique"),
            models.CheckConstraint(
                condition=Q(number__gte=1, share__gt=0, share__lte=100, amount__gt=0),
                name="planned_instalment_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number}: {yuan(self.amount)}"


class MilestoneAmendment(models.Model):
    """Append-only history of the milestone list: the list before and after an amendment, and why."""

    agreement = models.ForeignKey(
        FundingAgreement, on_delete=models.PROTECT, related_name="amendments", verbose_name=_("funding agreement")
    )
    old_milestones = models.JSONField(_("milestones before"))
    new_milestones = models.JSONField(_("milestones after"))
    reason = models.TextField(_("reason"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("milestone amendment")
        verbose_name_plural = _("milestone amendments")
        ordering = ["agreement", "at", "pk"]

    def __str__(self) -> str:
        return f"#{self.agreement_id} {self.at:%Y-%m-%d}"


EXPENSE_CATEGORIES = (
    ("equipment", _("equipment")),
    ("materials", _("materials")),
    ("personnel", _("personnel")),
    ("testing", _("testing and pilot runs")),
    ("rent", _("rent")),
    ("ip", _("intellectual property")),
    ("other", _("other")),
)


class FundUseReport(ChoiceLabelsMixin, models.Model):
    """The fund-use report (资金使用情况报告) on one instalment: how the money paid so far has been used. Made
    (as a draft) when the instalment is paid, due a policy number of days later; the next instalment is
    released only once it is accepted. Spend is cumulative: what of the disbursed money is spent so far."""

    class State(models.TextChoices):
        DRAFT = "draft", _("to be filed")
        SUBMITTED = "submitted", _("submitted")
        RETURNED = "returned", _("returned for changes")
        ACCEPTED = "accepted", _("accepted")

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="fund_use_reports", verbose_name=_("application")
    )
    instalment = models.OneToOneField(
        Disbursement, on_delete=models.PROTECT, related_name="fund_use_report", verbose_name=_("on instalment")
    )
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.DRAFT)
    due_on = models.DateField(_("due on"))
    disbursed = models.DecimalField(
        _("disbursed so far (yuan)"), **MONEY, help_text=_("All instalments paid up to this one.")
    )
    spent = models.DecimalField(_("spent so far (yuan)"), **MONEY, default=Decimal("0.00"))
    summary = models.TextField(_("summary"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    documents = models.ManyToManyField(
        "teams.Document",
        blank=True,
        related_name="fund_use_reports",
        verbose_name=_("invoices and contracts"),
    )

    class Meta:
        verbose_name = _("fund-use report")
        verbose_name_plural = _("fund-use reports")
        ordering = ["due_on", "pk"]
        indexes = [models.Index(fields=["state", "due_on"], name="fund_use_report_state_due_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(spent__gte=0) & Q(spent__lte=F("disbursed")), name="fund_use_report_spent_within_disbursed"
            ),
            models.CheckConstraint(
                condition=Q(state="draft") | Q(submitted_at__isnull=False), name="fund_use_report_submitted_has_date"
            ),
        ]

    def __str__(self) -> str:
        return _("Fund-use report on instalment %(number)s of application #%(id)s") % {
            "number": self.instalment.number if self.instalment_id else "?",
            "id": self.application_id,
        }

    @property
    def is_open(self) -> bool:
        return self.state != self.State.ACCEPTED


class ExpenseLine(models.Model):
    """One line of a report's spend, by category; the lines add up to the report's spend."""

    report = models.ForeignKey(
        FundUseReport, on_delete=models.CASCADE, related_name="lines", verbose_name=_("fund-use report")
    )
    category = models.CharField(_("category"), max_length=20, choices=EXPENSE_CATEGORIES)
    amount = models.DecimalField(_("amount (yuan)"), **MONEY)
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("expense line")
        verbose_name_plural = _("expense lines")
        ordering = ["report", "pk"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="expense_line_amount_positive")]

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {yuan(self.amount)}"


class MilestoneProgress(models.Model):
    """What the report says about one milestone of the agreement (its title and date as they stood)."""

    report = models.ForeignKey(
        FundUseReport, on_delete=models.CASCADE, related_name="progress", verbose_name=_("fund-use report")
    )
    order = models.PositiveSmallIntegerField(_("order"))
    milestone = models.CharField(_("milestone"), max_length=200)
    due_on = models.DateField(_("due on"))
    progress = models.TextField(_("progress"), blank=True)

    class Meta:
        verbose_name = _("progress on a milestone")
        verbose_name_plural = _("progress on milestones")
        ordering = ["report", "order"]
        constraints = [models.UniqueConstraint(fields=["report", "order"], name="milestone_progress_unique")]

    def __str__(self) -> str:
        return f"{self.order}. {self.milestone}"


class FundUseReportEvent(ChoiceLabelsMixin, models.Model):
    """Append-only history of a report: every step of its workflow."""

    report = models.ForeignKey(
        FundUseReport, on_delete=models.PROTECT, related_name="events", verbose_name=_("fund-use report")
    )
    action = models.CharField(_("action"), max_length=60)
    from_state = models.CharField(_("from state"), max_length=20, choices=FundUseReport.State.choices, blank=True)
    to_state = models.CharField(_("to state"), max_length=20, choices=FundUseReport.State.choices)
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
        verbose_name = _("fund-use report event")
        verbose_name_plural = _("fund-use report history")
        ordering = ["report", "at", "pk"]

    def __str__(self) -> str:
        # Read where the admin names a row (deletions, inline headers): states in words, never codes.
        moved = f"{self.get_from_state_display()} → " if self.from_state and self.from_state != self.to_state else ""
        return f"{moved}{self.get_to_state_display()}"


class FinalAcceptance(ChoiceLabelsMixin, models.Model):
    """The final acceptance (结题验收) of a grant: passed (the last instalment may be released, and the grant
    closes with it) or failed (a recovery follows)."""

    class Result(models.TextChoices):
        PASSED = "passed", _("passed")
        FAILED = "failed", _("failed")

    application = models.OneToOneField(
        Application, on_delete=models.PROTECT, related_name="final_acceptance", verbose_name=_("application")
    )
    result = models.CharField(_("result"), max_length=10, choices=Result.choices)
    reasons = models.TextField(_("reasons"))
    accepted_on = models.DateField(_("date of the acceptance"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("final acceptance")
        verbose_name_plural = _("final acceptances")
        ordering = ["-recorded_at", "-pk"]

    def __str__(self) -> str:
        return f"#{self.application_id}: {self.get_result_display()}"


# The acceptance's message names its result by code, shown in the reader's words (funding.messages).
register_choices("result", FinalAcceptance.Result)


class RecoveryOrder(ChoiceLabelsMixin, models.Model):
    """A recovery order (追回): at most what was disbursed, repaid in one or more repayments; complete when
    repaid in full, which closes the grant."""

    class Reason(models.TextChoices):
        MISUSE = "misuse", _("misuse of the funds")
        FRAUD = "fraud", _("fraud")
        FAILED_ACCEPTANCE = "failed_acceptance", _("failed final acceptance")

    class State(models.TextChoices):
        OPEN = "open", _("open")
        COMPLETED = "completed", _("completed")

    application = models.OneToOneField(
        Application, on_delete=models.PROTECT, related_name="recovery", verbose_name=_("application")
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    explanation = models.TextField(_("explanation"))
    amount = models.DecimalField(_("amount to recover (yuan)"), **MONEY)
    disbursed_when_opened = models.DecimalField(_("disbursed when opened (yuan)"), **MONEY)
    recovered = models.DecimalField(_("recovered (yuan)"), **MONEY, default=Decimal("0.00"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("opened by")
    )
    opened_at = models.DateTimeField(_("opened at"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("recovery order")
        verbose_name_plural = _("recovery orders")
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(amount__lte=F("disbursed_when_opened")),
                name="recovery_within_disbursed",
            ),
            models.CheckConstraint(
                condition=Q(recovered__gte=0) & Q(recovered__lte=F("amount")), name="recovery_repaid_within_order"
            ),
            models.CheckConstraint(
                condition=Q(state="open") | Q(recovered=F("amount"), completed_at__isnull=False),
                name="recovery_completed_when_repaid",
            ),
        ]

    def __str__(self) -> str:
        return _("Recovery from application #%(id)s") % {"id": self.application_id}

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.recovered


class Repayment(models.Model):
    """One repayment against a recovery order."""

    order = models.ForeignKey(
        RecoveryOrder, on_delete=models.PROTECT, related_name="repayments", verbose_name=_("recovery order")
    )
    amount = models.DecimalField(_("amount (yuan)"), **MONEY)
    paid_on = models.DateField(_("repaid on"))
    reference = models.CharField(_("payment reference"), max_length=100)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("repayment")
        verbose_name_plural = _("repayments")
        ordering = ["order", "paid_on", "pk"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="repayment_amount_positive")]

    def __str__(self) -> str:
        return f"{self.order_id}: {yuan(self.amount)}"
