"""The equity-investment portfolio held against the 80% failure-tolerance rule.

A fund invests in valley startups. Each investment names its five accountable parties and keeps its
standards checklist (five items, each with evidence and who confirmed it); only investments whose
checklist is complete ("qualifying") are covered by the tolerance. A compliance report is the dated
result of one check of one fund; the exemption determinations it records are the accountability
exemptions the rule grants.

Whether an investment "meets the standards" is a column PostgreSQL (or SQLite) computes from the
checklist, so the compliance check is one aggregate over one table and its covering index.

The database guards the invariants (check and unique constraints); services.py is the only writer
of reports and exemptions, portfolio.py of funds, investments and parties (each records its own
audit entry). An investment's states move by the table in workflow.py.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import ExpressionWrapper, F, Q
from django.utils.translation import gettext_lazy as _

from tolerance import rates
from valley.core import documents
from valley.models import BilingualNameMixin, ChoiceLabelsMixin

MONEY = {"max_digits": 14, "decimal_places": 2}
PERCENT = {"max_digits": 5, "decimal_places": 2}


# The five standards a project must meet to be covered by the tolerance: (field name, label).
STANDARDS = [
    ("decision_procedure", _("decision procedure followed")),
    ("due_diligence", _("due diligence on file")),
    ("risks_disclosed", _("known risks disclosed")),
    ("no_conflict", _("no conflict of interest or personal gain")),
    ("no_fraud", _("no fraud")),
]


def _confirmer(label):
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=label,
    )


class GoverningBasis(models.TextChoices):
    COUNT = "count", _("by count")
    AMOUNT = "amount", _("by amount")


class Fund(BilingualNameMixin):
    """An equity-investment fund and its tolerance policy."""

    manager = models.CharField(_("fund manager"), max_length=200)
    entrusted_institution = models.CharField(_("entrusted management institution"), max_length=200)
    size = models.DecimalField(_("fund size (yuan)"), **MONEY)
    tolerance_threshold = models.DecimalField(
        _("failure-tolerance threshold (%)"),
        **PERCENT,
        default=Decimal("80.00"),
        help_text=_("Up to this failure rate the parties of failed qualifying projects are exempt. 80% by policy."),
    )
    governing_basis = models.CharField(
        _("governing basis"),
        max_length=6,
        choices=GoverningBasis.choices,
        default=GoverningBasis.COUNT,
        help_text=_("Which failure rate decides the verdict; both are always shown."),
    )
    warning_level = models.DecimalField(
        _("warning level (%)"),
        **PERCENT,
        default=Decimal("70.00"),
        help_text=_("From this failure rate up to the threshold, portfolio managers are warned."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("fund")
        verbose_name_plural = _("funds")
        ordering = ["name_zh"]
        constraints = [
            models.UniqueConstraint(fields=["name_en"], name="fund_name_en_unique"),
            models.CheckConstraint(condition=Q(size__gt=0), name="fund_size_positive"),
            models.CheckConstraint(
                condition=Q(tolerance_threshold__gte=0) & Q(tolerance_threshold__lte=100),
                name="fund_threshold_between_0_and_100",
            ),
            models.CheckConstraint(
                condition=Q(warning_level__gte=0) & Q(warning_level__lte=F("tolerance_threshold")),
                name="fund_warning_within_threshold",
            ),
            models.CheckConstraint(condition=Q(governing_basis__in=["count", "amount"]), name="fund_basis_valid"),
        ]


class InvestmentState(models.TextChoices):
    """An investment's states; the moves between them are the table in tolerance/workflow.py."""

    ACTIVE = "active", _("active")
    EXITED = "exited", _("exited")
    FAILED = "failed", _("failed")


class FailureKind(models.TextChoices):
    BANKRUPT = "bankrupt", _("bankrupt")
    LIQUIDATED = "liquidated", _("liquidated")
    DEREGISTERED = "deregistered", _("deregistered")
    WRITTEN_OFF = "written_off", _("written off")


class Investment(ChoiceLabelsMixin, models.Model):
    # Module-level enums, so that the constraints below name them instead of repeating their strings.
    State = InvestmentState
    FailureKind = FailureKind

    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="investments", verbose_name=_("fund"))
    startup = models.ForeignKey(
        "teams.Entity",
        on_delete=models.PROTECT,
        related_name="investments",
        limit_choices_to={"kind": "startup"},
        verbose_name=_("startup"),
    )
    invested_on = models.DateField(_("investment date"))
    principal = models.DecimalField(_("principal (yuan)"), **MONEY)
    stake = models.DecimalField(_("stake (%)"), **PERCENT)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.ACTIVE)
    recovered = models.DecimalField(
        _("proceeds or recovered amount (yuan)"),
        **MONEY,
        default=Decimal("0.00"),
        help_text=_("Proceeds of an exit, or what was recovered from a failed project."),
    )
    co_investment = models.DecimalField(
        _("co-investment (yuan)"),
        **MONEY,
        default=Decimal("0.00"),
        help_text=_("What co-investors put into the startup in the same round, beside the fund's principal."),
    )
    failure_kind = models.CharField(_("failure kind"), max_length=12, choices=FailureKind.choices, blank=True)
    failed_on = models.DateField(_("failure date"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    # The standards checklist. It lives on the investment row so that "meets the standards" is a
    # column the database computes (meets_standards) and the compliance check aggregates without a
    # join. An item counts as met only with evidence and a confirmer: the database refuses a bare tick.
    decision_procedure = models.BooleanField(_("decision procedure followed"), default=False)
    decision_procedure_evidence = models.TextField(_("evidence: decision procedure"), blank=True)
    decision_procedure_confirmed_by = _confirmer(_("confirmed by: decision procedure"))
    due_diligence = models.BooleanField(_("due diligence on file"), default=False)
    due_diligence_evidence = models.TextField(_("evidence: due diligence"), blank=True)
    due_diligence_confirmed_by = _confirmer(_("confirmed by: due diligence"))
    risks_disclosed = models.BooleanField(_("known risks disclosed"), default=False)
    risks_disclosed_evidence = models.TextField(_("evidence: risks disclosed"), blank=True)
    risks_disclosed_confirmed_by = _confirmer(_("confirmed by: risks disclosed"))
    no_conflict = models.BooleanField(_("no conflict of interest or personal gain"), default=False)
    no_conflict_evidence = models.TextField(_("evidence: no conflict of interest"), blank=True)
    no_conflict_confirmed_by = _confirmer(_("confirmed by: no conflict of interest"))
    no_fraud = models.BooleanField(_("no fraud"), default=False)
    no_fraud_evidence = models.TextField(_("evidence: no fraud"), blank=True)
    no_fraud_confirmed_by = _confirmer(_("confirmed by: no fraud"))
    meets_standards = models.GeneratedField(
        expression=ExpressionWrapper(
            Q(decision_procedure=True, due_diligence=True, risks_disclosed=True, no_conflict=True, no_fraud=True),
            output_field=models.BooleanField(),
        ),
        output_field=models.BooleanField(),
        db_persist=True,
        verbose_name=_("meets the standards"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("investment")
        verbose_name_plural = _("investments")
        ordering = ["-invested_on", "pk"]
        indexes = [
            models.Index(fields=["fund", "state"]),
            # Covers the compliance check: its aggregate of one fund reads this index alone (PostgreSQL).
            models.Index(
                fields=["fund", "invested_on"],
                include=["id", "state", "failed_on", "principal", "recovered", "meets_standards"],
                name="investment_compliance_idx",
            ),
            # The admin list's default order (newest first), its year filter, and its state and
            # failure-kind filters in that order: a page reads 100 index entries, not a million rows.
            models.Index(fields=["-invested_on", "id"], name="investment_recent_idx"),
            models.Index(fields=["state", "-invested_on"], name="investment_state_recent_idx"),
            models.Index(fields=["failure_kind", "-invested_on"], name="investment_failure_recent_idx"),
            # The fund dashboard's latest failures, and its count of them.
            models.Index(
                fields=["fund", "-failed_on", "id"],
                condition=Q(state=InvestmentState.FAILED),
                name="investment_fund_failed_idx",
            ),
            # The fund dashboard's checklist gaps (newest first) and their count: the few that miss a standard.
            models.Index(
                fields=["fund", "-invested_on", "id"],
                condition=Q(meets_standards=False),
                name="investment_fund_gaps_idx",
            ),
            # The fund dashboard's cache key: the last change to any of the fund's investments.
            models.Index(fields=["fund", "-updated_at"], name="investment_fund_changed_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(principal__gt=0), name="investment_principal_positive"),
            models.CheckConstraint(condition=Q(recovered__gte=0), name="investment_recovered_not_negative"),
            models.CheckConstraint(condition=Q(co_investment__gte=0), name="investment_co_investment_not_negative"),
            models.CheckConstraint(
                condition=Q(stake__gt=0) & Q(stake__lte=100), name="investment_stake_between_0_and_100"
            ),
            models.CheckConstraint(condition=Q(state__in=InvestmentState.values), name="investment_state_valid"),
            # A failed investment says how and when it failed; one that has not failed says neither.
            models.CheckConstraint(
                condition=(
                    Q(state=InvestmentState.FAILED)
                    & Q(failure_kind__in=FailureKind.values)
                    & Q(failed_on__isnull=False)
                )
                | (~Q(state=InvestmentState.FAILED) & Q(failure_kind="") & Q(failed_on__isnull=True)),
                name="investment_failure_kind_and_date_iff_failed",
            ),
            # A loss is never negative: a failed project cannot recover more than was put in.
            models.CheckConstraint(
                condition=~Q(state=InvestmentState.FAILED) | Q(recovered__lte=F("principal")),
                name="investment_failed_recovers_at_most_principal",
            ),
            models.CheckConstraint(
                condition=Q(failed_on__isnull=True) | Q(failed_on__gte=F("invested_on")),
                name="investment_fails_after_investment",
            ),
            *(
                models.CheckConstraint(
                    condition=Q(**{code: False})
                    | (~Q(**{f"{code}_evidence": ""}) & Q(**{f"{code}_confirmed_by__isnull": False})),
                    name=f"investment_{code}_has_evidence_and_confirmer",
                )
                for code, _label in STANDARDS
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fund} → {self.startup} ({self.invested_on:%Y-%m-%d})"

    @property
    def standards_gaps(self) -> list[str]:
        """Labels of the standards not (yet) met."""
        return [str(label) for code, label in STANDARDS if not getattr(self, code)]

    def clean(self):
        errors = {}
        if self.state == self.State.FAILED:
            if not self.failure_kind:
                errors["failure_kind"] = _("A failed investment needs its failure kind.")
            if not self.failed_on:
                errors["failed_on"] = _("A failed investment needs its failure date.")
            if self.recovered is not None and self.principal is not None and self.recovered > self.principal:
                errors["recovered"] = _("A failed project cannot recover more than its principal.")
        else:
            if self.failure_kind:
                errors["failure_kind"] = _("Only a failed investment has a failure kind; clear it or mark it failed.")
            if self.failed_on:
                errors["failed_on"] = _("Only a failed investment has a failure date; clear it or mark it failed.")
        if self.failed_on and self.invested_on and self.failed_on < self.invested_on:
            errors["failed_on"] = _("The failure date cannot be before the investment date.")
        for code, label in STANDARDS:
            if getattr(self, code):
                if not getattr(self, f"{code}_evidence").strip():
                    errors[f"{code}_evidence"] = _("Say what shows that “%(item)s” holds.") % {"item": label}
                if getattr(self, f"{code}_confirmed_by_id") is None:
                    errors[f"{code}_confirmed_by"] = _("Name who confirmed “%(item)s”.") % {"item": label}
        if errors:
            raise ValidationError(errors)


def document_upload_to(instance, filename: str) -> str:
    # A random name (valley.core.documents): the original is kept in `original_name`, never used as a path.
    return documents.random_name("tolerance", filename)


class DocumentKind(models.TextChoices):
    EVIDENCE = "evidence", _("evidence")
    DECISION_MINUTES = "decision_minutes", _("decision minutes")
    DUE_DILIGENCE = "due_diligence", _("due diligence")
    OTHER = "other", _("other")


class InvestmentDocument(ChoiceLabelsMixin, models.Model):
    """A file on record for an investment: evidence of a standard, minutes of the decision, the due-diligence
    report, or another paper (agreement, liquidation papers).

    Written and removed only by tolerance/documents.py, after the checks of the one document mechanism
    (valley.core.documents): the type is read from the content, the stored name is random with the detected
    type's extension, and the file is served only by the permission-checking download view."""

    Kind = DocumentKind

    investment = models.ForeignKey(
        Investment, on_delete=models.CASCADE, related_name="documents", verbose_name=_("investment")
    )
    kind = models.CharField(_("kind of document"), max_length=16, choices=Kind.choices, default=Kind.OTHER)
    title = models.CharField(_("title"), max_length=200)
    file = documents.DocumentFileField(
        _("file"),
        upload_to=document_upload_to,
        max_length=200,
        download_view="tolerance:investment_document_download",
    )
    original_name = models.CharField(_("original file name"), max_length=255, blank=True)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
        help_text=_("Empty for the system (demo data) and for documents uploaded before uploaders were recorded."),
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("investment document")
        verbose_name_plural = _("investment documents")
        ordering = ["-uploaded_at"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=DocumentKind.values), name="investment_document_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.title


class InvestmentParty(models.Model):
    """One of the five accountable parties the policy names for an investment: an organisation, a person, or both."""

    class Role(models.TextChoices):
        DECISION_BODY = "decision_body", _("decision-making body")
        SUPERVISORY_DEPARTMENT = "supervisory", _("business supervisory department")
        INVESTMENT_REPRESENTATIVE = "representative", _("investment representative")
        ENTRUSTED_INSTITUTION = "entrusted", _("entrusted management institution")
        PRACTITIONER = "practitioner", _("practitioner")

    investment = models.ForeignKey(
        Investment, on_delete=models.CASCADE, related_name="parties", verbose_name=_("investment")
    )
    role = models.CharField(_("accountable party"), max_length=14, choices=Role.choices)
    organisation = models.CharField(_("organisation"), max_length=200, blank=True)
    person = models.CharField(_("person"), max_length=100, blank=True)
    position = models.CharField(_("position"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("accountable party")
        verbose_name_plural = _("accountable parties")
        ordering = ["investment", "role", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=["decision_body", "supervisory", "representative", "entrusted", "practitioner"]),
                name="party_role_valid",
            ),
            models.CheckConstraint(condition=~Q(organisation="", person=""), name="party_names_someone"),
            models.UniqueConstraint(
                fields=["investment", "role", "organisation", "person"], name="party_unique_per_investment"
            ),
        ]

    def __str__(self) -> str:
        who = " · ".join(part for part in (self.organisation, self.person) if part)
        return f"{self.get_role_display()}: {who}"


class Verdict(models.TextChoices):
    WITHIN = "within", _("within tolerance")
    WARNING = "warning", _("warning")
    BREACH = "breach", _("breach")
    # No qualifying investment: no failure rate, so neither within nor beyond the tolerance.
    NO_DATA = "no_data", _("no data")


class ComplianceReport(models.Model):
    """The dated result of one compliance check of one fund. One per fund and as-of date; a rerun updates it.

    The policy in force (threshold, warning level, basis) is copied in, so an old report still reads
    the way it was decided after the fund's policy changes.

    The rates are for showing: rounded half-up to two decimals, and empty when no investment qualifies
    (the verdict is then "no data"). The verdict was decided on the exact fractions of the figures kept
    beside them (tolerance/rates.py); `count_rounding` and `amount_rounding` say when a shown rate sits on
    a line its exact value does not.
    """

    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="reports", verbose_name=_("fund"))
    as_of = models.DateField(_("as of"))
    investment_count = models.PositiveIntegerField(_("investments"))
    qualifying_count = models.PositiveIntegerField(_("qualifying investments"))
    failed_count = models.PositiveIntegerField(_("failed qualifying investments"))
    unqualified_failed_count = models.PositiveIntegerField(
        _("failed investments that did not meet the standards"), default=0
    )
    qualifying_principal = models.DecimalField(_("qualifying principal (yuan)"), **MONEY)
    qualifying_loss = models.DecimalField(_("losses on failed qualifying investments (yuan)"), **MONEY)
    rate_by_count = models.DecimalField(_("failure rate by count (%)"), **PERCENT, null=True, blank=True)
    rate_by_amount = models.DecimalField(_("failure rate by amount (%)"), **PERCENT, null=True, blank=True)
    governing_basis = models.CharField(_("governing basis"), max_length=6, choices=GoverningBasis.choices)
    tolerance_threshold = models.DecimalField(_("threshold (%)"), **PERCENT)
    warning_level = models.DecimalField(_("warning level (%)"), **PERCENT)
    verdict = models.CharField(_("verdict"), max_length=8, choices=Verdict.choices)
    computed_at = models.DateTimeField(_("computed at"))
    computed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("run by"),
        help_text=_("Empty when the scheduler ran the check."),
    )
    # The last save of the fund's investments the figures counted: a later check finding the same stamp (and
    # the same failures) knows the cases this report's check opened are all there, without looking again.
    figures_changed_at = models.DateTimeField(
        _("investments last changed at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("The last change to the fund's investments that the figures counted."),
    )

    class Meta:
        verbose_name = _("compliance report")
        verbose_name_plural = _("compliance reports")
        ordering = ["fund", "-as_of"]
        indexes = [
            # The fund dashboard's cache key: when the fund was last checked.
            models.Index(fields=["fund", "-computed_at"], name="report_fund_computed_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["fund", "as_of"], name="report_one_per_fund_and_date"),
            models.CheckConstraint(
                condition=Q(failed_count__lte=F("qualifying_count")), name="report_failed_le_qualifying"
            ),
            models.CheckConstraint(
                condition=Q(qualifying_count__lte=F("investment_count")), name="report_qualifying_le_investments"
            ),
            models.CheckConstraint(
                condition=Q(qualifying_loss__gte=0) & Q(qualifying_loss__lte=F("qualifying_principal")),
                name="report_loss_within_principal",
            ),
            models.CheckConstraint(
                condition=Q(rate_by_count__gte=0) & Q(rate_by_count__lte=100), name="report_rate_by_count_0_100"
            ),
            models.CheckConstraint(
                condition=Q(rate_by_amount__gte=0) & Q(rate_by_amount__lte=100), name="report_rate_by_amount_0_100"
            ),
            models.CheckConstraint(condition=Q(verdict__in=Verdict.values), name="report_verdict_valid"),
            # No qualifying investment, no rate and no verdict but "no data"; otherwise both rates and a verdict.
            models.CheckConstraint(
                condition=Q(
                    qualifying_count=0, verdict=Verdict.NO_DATA, rate_by_count__isnull=True, rate_by_amount__isnull=True
                )
                | (
                    Q(qualifying_count__gt=0, rate_by_count__isnull=False, rate_by_amount__isnull=False)
                    & ~Q(verdict=Verdict.NO_DATA)
                ),
                name="report_no_data_iff_no_qualifying",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fund} @ {self.as_of:%Y-%m-%d}: {self.get_verdict_display()}"

    @property
    def governing_rate(self) -> Decimal | None:
        return self.rate_by_amount if self.governing_basis == GoverningBasis.AMOUNT else self.rate_by_count

    def _rounding(self, part, whole) -> str:
        return rates.rounding(
            part=part, whole=whole, threshold=self.tolerance_threshold, warning_level=self.warning_level
        )

    @property
    def count_rounding(self) -> str:
        """A rates.Rounding code when the shown rate by count hides which side of a line it is on, else ""."""
        return self._rounding(self.failed_count, self.qualifying_count)

    @property
    def amount_rounding(self) -> str:
        """A rates.Rounding code when the shown rate by amount hides which side of a line it is on, else ""."""
        return self._rounding(self.qualifying_loss, self.qualifying_principal)

    @property
    def governing_rounding(self) -> str:
        return self.amount_rounding if self.governing_basis == GoverningBasis.AMOUNT else self.count_rounding

    def _shown(self, rate, rounding) -> str:
        return rates.describe(
            rate=rate, rounding=rounding, threshold=self.tolerance_threshold, warning_level=self.warning_level
        )

    @property
    def shown_rate_by_count(self) -> str:
        """The rate by count as people read it, in the active language: "83.33%", "80.00% (rounded; exceeds
        80.00%)", or "—" for no data."""
        return self._shown(self.rate_by_count, self.count_rounding)

    @property
    def shown_rate_by_amount(self) -> str:
        """The rate by amount as people read it (see shown_rate_by_count)."""
        return self._shown(self.rate_by_amount, self.amount_rounding)

    @property
    def shown_governing_rate(self) -> str:
        return self._shown(self.governing_rate, self.governing_rounding)


class CaseState(models.TextChoices):
    """An exemption case's steps; the moves between them are CASE_WORKFLOW in tolerance/workflow.py."""

    OPENED = "opened", _("opened")
    EVIDENCE = "evidence", _("evidence gathered")
    OPINION = "opinion", _("opinion given")
    DETERMINED = "determined", _("determined")
    NOTIFIED = "notified", _("parties notified (closed)")


# A case whose determination has been made: its determinations are the ones that count.
DECIDED_STATES = (CaseState.DETERMINED, CaseState.NOTIFIED)
UNDECIDED_STATES = (CaseState.OPENED, CaseState.EVIDENCE, CaseState.OPINION)


class CaseKind(models.TextChoices):
    ORIGINAL = "original", _("original")
    REEXAMINATION = "reexamination", _("re-examination")


class ExemptionCase(ChoiceLabelsMixin, models.Model):
    """The procedure that decides whether the parties of one failed qualifying investment are exempt (尽职免责).

    The compliance check opens the original case of a failed qualifying project in a fund within
    tolerance (once per investment: a unique constraint), recording the report and the rate it relied
    on; people take it through its steps (CASE_WORKFLOW). A decided case stands: a later breach or new
    evidence opens a re-examination, a new case naming the one it re-examines, whose determination may
    revoke the earlier one by new rows. Nothing is deleted or rewritten: every step is a new row (evidence,
    statements, opinion, determinations, notification, CaseEvent), and only `state` moves.
    """

    State = CaseState
    Kind = CaseKind

    investment = models.ForeignKey(
        Investment, on_delete=models.PROTECT, related_name="exemption_cases", verbose_name=_("failed investment")
    )
    kind = models.CharField(_("kind"), max_length=14, choices=CaseKind.choices, default=CaseKind.ORIGINAL)
    reexamines = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reexaminations",
        verbose_name=_("re-examines"),
    )
    report = models.ForeignKey(
        ComplianceReport,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("compliance report relied on"),
    )
    governing_basis = models.CharField(_("governing basis"), max_length=6, choices=GoverningBasis.choices, blank=True)
    governing_rate = models.DecimalField(_("governing failure rate (%)"), **PERCENT, null=True, blank=True)
    opened_by_check = models.BooleanField(_("opened by the compliance check"), default=False)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("opened by"),
    )
    reason = models.TextField(_("why the case was opened"), blank=True)
    state = models.CharField(_("step"), max_length=10, choices=CaseState.choices, default=CaseState.OPENED)
    opened_at = models.DateTimeField(_("opened at"))
    state_changed_at = models.DateTimeField(_("step reached at"))

    class Meta:
        verbose_name = _("exemption case")
        verbose_name_plural = _("exemption cases")
        ordering = ["-opened_at", "pk"]
        indexes = [models.Index(fields=["state", "opened_at"], name="case_state_opened_idx")]
        constraints = [
            # The check opens a project's first case once, whatever the number of reruns.
            models.UniqueConstraint(
                fields=["investment"], condition=Q(kind="original"), name="case_one_original_per_investment"
            ),
            # At most one case of a project is being worked on at a time.
            models.UniqueConstraint(
                fields=["investment"],
                condition=Q(state__in=["opened", "evidence", "opinion"]),
                name="case_one_undecided_per_investment",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["opened", "evidence", "opinion", "determined", "notified"]),
                name="case_state_valid",
            ),
            models.CheckConstraint(
                condition=(Q(kind="original") & Q(reexamines__isnull=True))
                | (Q(kind="reexamination") & Q(reexamines__isnull=False) & ~Q(reason="")),
                name="case_reexamination_names_its_case_and_reason",
            ),
            models.CheckConstraint(
                condition=Q(opened_by_check=True, opened_by__isnull=True) | Q(opened_by_check=False),
                name="case_opened_by_check_or_person",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.investment_id}: {self.get_state_display()}"

    @property
    def is_decided(self) -> bool:
        return self.state in DECIDED_STATES


class CaseEvidence(models.Model):
    """Evidence on one of the five standards, and who confirmed it. More may be added; none is removed."""

    case = models.ForeignKey(ExemptionCase, on_delete=models.PROTECT, related_name="evidence", verbose_name=_("case"))
    standard = models.CharField(_("standard"), max_length=20, choices=STANDARDS)
    note = models.TextField(_("what shows it"))
    documents = models.ManyToManyField(
        InvestmentDocument, blank=True, related_name="case_evidence", verbose_name=_("documents")
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("confirmed by")
    )
    confirmed_at = models.DateTimeField(_("confirmed at"))

    class Meta:
        verbose_name = _("case evidence")
        verbose_name_plural = _("case evidence")
        ordering = ["case", "standard", "confirmed_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(standard__in=[code for code, _label in STANDARDS]), name="case_evidence_standard_valid"
            ),
            models.CheckConstraint(condition=~Q(note=""), name="case_evidence_has_note"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.get_standard_display()}"


class CaseStatement(models.Model):
    """What one party said for the case (情况说明), as recorded by a portfolio manager."""

    case = models.ForeignKey(ExemptionCase, on_delete=models.PROTECT, related_name="statements", verbose_name=_("case"))
    party = models.ForeignKey(
        InvestmentParty, on_delete=models.PROTECT, related_name="statements", verbose_name=_("accountable party")
    )
    text = models.TextField(_("statement"))
    made_on = models.DateField(_("date of the statement"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("party statement")
        verbose_name_plural = _("party statements")
        ordering = ["case", "made_on", "pk"]
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="case_statement_has_text")]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.party}"


class CaseOpinion(models.Model):
    """The opinion of the business supervisory department on a case: one per case."""

    case = models.OneToOneField(ExemptionCase, on_delete=models.PROTECT, related_name="opinion", verbose_name=_("case"))
    text = models.TextField(_("opinion"))
    given_on = models.DateField(_("date of the opinion"))
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("given by")
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("supervisory opinion")
        verbose_name_plural = _("supervisory opinions")
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="case_opinion_has_text")]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.given_on:%Y-%m-%d}"


class CaseNotification(models.Model):
    """How and when the parties were told of the determination: it closes the case. One per case."""

    case = models.OneToOneField(
        ExemptionCase, on_delete=models.PROTECT, related_name="notification", verbose_name=_("case")
    )
    notified_on = models.DateField(_("date the parties were notified"))
    how = models.CharField(_("how they were notified"), max_length=200)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("notification of the parties")
        verbose_name_plural = _("notifications of the parties")
        constraints = [models.CheckConstraint(condition=~Q(how=""), name="case_notification_says_how")]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.notified_on:%Y-%m-%d}"


class CaseEvent(ChoiceLabelsMixin, models.Model):
    """Append-only history of a case: every step, from its opening on."""

    case = models.ForeignKey(ExemptionCase, on_delete=models.PROTECT, related_name="events", verbose_name=_("case"))
    action = models.CharField(_("action"), max_length=60)
    from_state = models.CharField(_("from step"), max_length=10, choices=CaseState.choices, blank=True)
    to_state = models.CharField(_("to step"), max_length=10, choices=CaseState.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("at"))
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case history")
        ordering = ["case", "at", "pk"]

    def __str__(self) -> str:
        # The move in words: the admin shows it above each history row, whose action column names the step.
        return f"{self.get_from_state_display() or '-'} → {self.get_to_state_display()}"


class ExemptionDetermination(models.Model):
    """The determination, in one exemption case, on whether one party of a failed investment is exempt.

    Made by the decision-making body when it decides the case (`case_determine`): exempt or not, with
    reasons, the meeting date and the document number (文号). Only the determinations of decided cases
    count, and of those only the ones no later determination supersedes: a re-examination's determination
    names the one it replaces (`supersedes`), which stays as it was.

    Rows with `automatic` set are history from before cases: the compliance check wrote them itself. The
    data migration put them in cases opened by the check, still to be decided; they make nobody exempt.
    Their `withdrawn_at`/`withdrawal_reason` are from that time and are never set again.
    """

    case = models.ForeignKey(
        ExemptionCase, on_delete=models.PROTECT, related_name="determinations", verbose_name=_("case")
    )
    report = models.ForeignKey(
        ComplianceReport,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="exemptions",
        verbose_name=_("compliance report"),
    )
    investment = models.ForeignKey(
        Investment, on_delete=models.PROTECT, related_name="exemptions", verbose_name=_("failed investment")
    )
    party = models.ForeignKey(
        InvestmentParty, on_delete=models.PROTECT, related_name="exemptions", verbose_name=_("accountable party")
    )
    exempt = models.BooleanField(_("exempt from accountability"), default=True)
    reason = models.TextField(_("reasons"))
    meeting_date = models.DateField(_("meeting date"), null=True, blank=True)
    document_number = models.CharField(_("document number"), max_length=100, blank=True)
    determined_at = models.DateTimeField(_("determined at"))
    determined_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        verbose_name=_("supersedes"),
    )
    automatic = models.BooleanField(_("written by the check (before cases)"), default=False)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawal_reason = models.TextField(_("reason for the withdrawal"), blank=True)

    class Meta:
        verbose_name = _("exemption determination")
        verbose_name_plural = _("exemption determinations")
        ordering = ["case", "investment", "party", "pk"]
        constraints = [
            # One determination per party in a case decided by people.
            models.UniqueConstraint(
                fields=["case", "party"], condition=Q(automatic=False), name="exemption_one_per_party_and_case"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="exemption_has_reason"),
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=True, withdrawal_reason="")
                | (Q(withdrawn_at__isnull=False) & ~Q(withdrawal_reason="")),
                name="exemption_withdrawal_has_reason",
            ),
            # A determination made by people names its meeting, its document and who recorded it.
            models.CheckConstraint(
                condition=Q(automatic=True)
                | (Q(meeting_date__isnull=False) & ~Q(document_number="") & Q(determined_by__isnull=False)),
                name="exemption_decided_has_meeting_and_document",
            ),
        ]

    def __str__(self) -> str:
        status = _("exempt") if self.exempt else _("not exempt")
        return f"{self.party}: {status}"


def standing_determinations():
    """The determinations that count: made by people in a decided case, and not superseded since.
    A queryset (lazy); `selectors` builds every "exempt" on it."""
    return ExemptionDetermination.objects.filter(
        automatic=False, case__state__in=DECIDED_STATES, superseded_by__isnull=True
    )


# ---------------------------------------------------------------------------- post-investment monitoring

# The figures of a quarterly company report: (field name, kind). Money in yuan with fen; the rest counts.
REPORT_MONEY_FIGURES = ("revenue", "rd_spend", "follow_on_funding")
REPORT_COUNT_FIGURES = ("employees", "patents_filed", "patents_granted")
REPORT_FIGURES = ("revenue", "employees", "rd_spend", "patents_filed", "patents_granted", "follow_on_funding")


class CompanyReportState(models.TextChoices):
    """A quarterly report's states; the moves between them are tolerance/workflow.py's REPORT_WORKFLOW."""

    DRAFT = "draft", _("to be filed")
    SUBMITTED = "submitted", _("submitted")
    RETURNED = "returned", _("returned for changes")
    ACCEPTED = "accepted", _("accepted")


class CompanyReport(ChoiceLabelsMixin, models.Model):
    """The quarterly report (季度报告) of one portfolio startup for one calendar quarter (DOMAIN.md
    "Post-investment monitoring"): revenue, employees, R&D spend, patents filed and granted, follow-on
    funding raised in the quarter. Due 30 working days after the quarter's last day (valley.core.calendar).

    Rows are made "to be filed" by tolerance.monitoring.company_reports_open_due (the daily reminder run,
    or the startup's own page) for every quarter from the one of the first investment in the startup, while
    it has an active investment. The figures are empty until the startup saves them; the database refuses
    a report past "to be filed" without all of them, and any negative figure."""

    State = CompanyReportState

    entity = models.ForeignKey(
        "teams.Entity", on_delete=models.PROTECT, related_name="company_reports", verbose_name=_("startup")
    )
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    due_on = models.DateField(_("due on"))
    revenue = models.DecimalField(_("revenue (yuan)"), **MONEY, null=True, blank=True)
    employees = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    rd_spend = models.DecimalField(_("R&D spend (yuan)"), **MONEY, null=True, blank=True)
    patents_filed = models.PositiveIntegerField(_("patents filed"), null=True, blank=True)
    patents_granted = models.PositiveIntegerField(_("patents granted"), null=True, blank=True)
    follow_on_funding = models.DecimalField(_("follow-on funding raised (yuan)"), **MONEY, null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("quarterly report")
        verbose_name_plural = _("quarterly reports")
        ordering = ["entity", "-year", "-quarter"]
        indexes = [
            models.Index(fields=["state", "due_on"], name="company_report_state_due_idx"),
            models.Index(fields=["year", "entity"], name="company_report_year_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["entity", "year", "quarter"], name="company_report_one_per_quarter"),
            models.CheckConstraint(condition=Q(quarter__gte=1) & Q(quarter__lte=4), name="company_report_quarter_1_4"),
            models.CheckConstraint(condition=Q(state__in=CompanyReportState.values), name="company_report_state_valid"),
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{name}__isnull": True}) | Q(**{f"{name}__gte": 0}),
                    name=f"company_report_{name}_not_negative",
                )
                for name in REPORT_FIGURES
            ),
            # Filed means complete: past "to be filed" every figure is there, with when it was submitted.
            models.CheckConstraint(
                condition=Q(state=CompanyReportState.DRAFT)
                | (Q(submitted_at__isnull=False) & Q(**{f"{name}__isnull": False for name in REPORT_FIGURES})),
                name="company_report_filed_is_complete",
            ),
        ]

    def __str__(self) -> str:
        return _("%(entity)s, %(year)s Q%(quarter)s") % {
            "entity": self.entity.name if self.entity_id else "?",
            "year": self.year,
            "quarter": self.quarter,
        }

    @property
    def period(self) -> str:
        return _("%(year)s Q%(quarter)s") % {"year": self.year, "quarter": self.quarter}

    @property
    def is_filed(self) -> bool:
        return self.state in (CompanyReportState.SUBMITTED, CompanyReportState.ACCEPTED)


class CompanyReportEvent(ChoiceLabelsMixin, models.Model):
    """Append-only history of a quarterly report: opened, every save, every step of its workflow."""

    report = models.ForeignKey(
        CompanyReport, on_delete=models.PROTECT, related_name="events", verbose_name=_("quarterly report")
    )
    action = models.CharField(_("action"), max_length=60)
    from_state = models.CharField(_("from state"), max_length=10, choices=CompanyReportState.choices, blank=True)
    to_state = models.CharField(_("to state"), max_length=10, choices=CompanyReportState.choices)
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
        verbose_name = _("quarterly report event")
        verbose_name_plural = _("quarterly report history")
        ordering = ["report", "at", "pk"]

    def __str__(self) -> str:
        # The move in words: the admin shows it above each history row, whose action column names the step.
        return f"{self.get_from_state_display() or '-'} → {self.get_to_state_display()}"


class ValuationMethod(models.TextChoices):
    RECENT_ROUND = "recent_round", _("price of a recent financing round")
    MULTIPLES = "multiples", _("market multiples")
    DISCOUNTED_CASH_FLOW = "dcf", _("discounted cash flow")
    WRITE_DOWN = "write_down", _("write-down")


class ValuationMark(ChoiceLabelsMixin, models.Model):
    """A portfolio manager's fair value of one investment on one date, with its method and evidence.

    Append-only: tolerance/valuation.py writes marks and nothing edits or deletes one. A correction is a
    new mark; for the same date the one recorded last counts (marks are read in the order of
    `as_of`, `recorded_at`, `id`), and the earlier one stays as history. The latest mark of an active
    investment is its unrealised value in the fund figures (tolerance/figures.py).
    """

    Method = ValuationMethod

    investment = models.ForeignKey(
        Investment, on_delete=models.PROTECT, related_name="valuation_marks", verbose_name=_("investment")
    )
    as_of = models.DateField(_("valuation date"))
    fair_value = models.DecimalField(_("fair value (yuan)"), **MONEY)
    method = models.CharField(_("valuation method"), max_length=12, choices=ValuationMethod.choices)
    evidence = models.TextField(_("evidence"), help_text=_("What the value rests on: the round, the peers, the model."))
    document = models.ForeignKey(
        InvestmentDocument,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="valuation_marks",
        verbose_name=_("supporting document"),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
        help_text=_("Empty when the system recorded it (demo data)."),
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("valuation mark")
        verbose_name_plural = _("valuation marks")
        ordering = ["investment", "-as_of", "-recorded_at", "-id"]
        indexes = [
            # The latest mark of an investment (as of a date): one index lookup, the value read from the index.
            models.Index(
                fields=["investment", "-as_of", "-recorded_at", "-id"],
                include=["fair_value", "method"],
                name="valuation_latest_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(fair_value__gte=0), name="valuation_fair_value_not_negative"),
            models.CheckConstraint(condition=Q(method__in=ValuationMethod.values), name="valuation_method_valid"),
            models.CheckConstraint(condition=~Q(evidence=""), name="valuation_has_evidence"),
        ]

    def __str__(self) -> str:
        return f"{self.investment_id} @ {self.as_of:%Y-%m-%d}: {self.fair_value:,.2f}"
