"""How the start-up fund looks in the REST API, and the input its write endpoints accept.

Serializers only shape data: every write goes through funding.services, exactly as the web pages do.
Amounts are strings with two decimals; users appear only as e-mail addresses."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from funding import selectors
from funding.models import (
    EXPENSE_CATEGORIES,
    AgreementMilestone,
    Application,
    ApplicationEvent,
    Disbursement,
    ExpenseLine,
    ExpertReview,
    FinalAcceptance,
    FundingAgreement,
    FundPolicy,
    FundUseReport,
    FundUseReportEvent,
    MilestoneProgress,
    PlannedInstalment,
    RecoveryOrder,
    Repayment,
    SubVenueBudget,
)
from funding.workflow import REPORT_WORKFLOW, WORKFLOW
from teams.models import Entity
from teams.uscc import validate_uscc
from valley.web.api import StaffOnlyFieldsMixin, UserEmailField, YuanField


class ApplicationSerializer(StaffOnlyFieldsMixin, serializers.ModelSerializer):
    amount = YuanField(read_only=True)
    min_amount = YuanField(read_only=True, allow_null=True)
    max_amount = YuanField(read_only=True, allow_null=True)
    approved_amount = YuanField(read_only=True, allow_null=True)
    paid_in_capital = YuanField(read_only=True, allow_null=True)
    disbursed_total = YuanField(read_only=True)
    created_by = UserEmailField(source="created_by.email")
    decided_by = UserEmailField(source="decided_by.email")
    objection = serializers.CharField(read_only=True, allow_null=True)
    budget = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    actions = serializers.SerializerMethodField(
        help_text=_("The transitions you may take now (a transition's own conditions are checked when you take it).")
    )

    class Meta:
        model = Application
        fields = [
            "id",
            "entity",
            "sub_venue",
            "state",
            "amount",
            "purpose",
            "plan",
            "created_by",
            "created_at",
            "submitted_at",
            "min_amount",
            "max_amount",
            "approved_amount",
            "decided_at",
            "decided_by",
            "budget",
            "notice_ends_on",
            "notice_ends_at",
            "objection",
            "paid_in_capital",
            "disbursed_total",
            "actions",
        ]
        read_only_fields = fields
        staff_only_fields = ["decided_by", "budget", "objection"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_actions(self, application) -> list[str]:
        # No query: the entity's owner id comes with the application, the user's roles are read once per request.
        request = self.context.get("request")
        if request is None:
            return []
        return [transition.name for transition in WORKFLOW.available(application, request.user)]


class ApplicationCreateSerializer(serializers.Serializer):
    entity = serializers.PrimaryKeyRelatedField(
        queryset=Entity.objects.none(), help_text=_("One of your own teams or startups.")
    )
    amount = YuanField()
    purpose = serializers.CharField(max_length=300)
    plan = serializers.CharField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            # Like the web form, the choice is among the applicant's own entities only.
            self.fields["entity"].queryset = Entity.objects.filter(owner=request.user)


class ApplicationUpdateSerializer(serializers.Serializer):
    amount = YuanField()
    purpose = serializers.CharField(max_length=300)
    plan = serializers.CharField()


class TransitionSerializer(serializers.Serializer):
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", help_text=_("Shown to the applicant in the timeline.")
    )
    internal_note = serializers.CharField(
        required=False, allow_blank=True, default="", help_text=_("Seen by staff and auditors only.")
    )


class ApproveSerializer(TransitionSerializer):
    approved_amount = YuanField(
        required=False, allow_null=True, default=None, help_text=_("Leave out to approve the amount requested.")
    )


class RegistrationVerificationSerializer(serializers.Serializer):
    company_name = serializers.CharField(max_length=200)
    uscc = serializers.CharField(max_length=40, trim_whitespace=False, validators=[validate_uscc])
    registered_on = serializers.DateField()
    registered_capital = YuanField()
    paid_in_capital = YuanField()
    legal_representative = serializers.CharField(max_length=100)
    comment = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if attrs["paid_in_capital"] > attrs["registered_capital"]:
            raise serializers.ValidationError(
                {"paid_in_capital": [_("Paid-in capital cannot exceed registered capital.")]}
            )
        return attrs


class DisbursementCreateSerializer(serializers.Serializer):
    amount = YuanField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("Leave out to release the next instalment of the plan; another amount than the plan's is refused."),
    )
    paid_on = serializers.DateField()
    reference = serializers.CharField(max_length=100)


class ReviseAmountSerializer(serializers.Serializer):
    amount = YuanField(help_text=_("The new approved amount: less than the one approved, at least the fund's minimum."))
    comment = serializers.CharField(help_text=_("Why: shown to the applicant in the timeline."))


class AcceptanceRecordSerializer(serializers.Serializer):
    result = serializers.ChoiceField(choices=FinalAcceptance.Result.choices)
    reasons = serializers.CharField()
    accepted_on = serializers.DateField()


class RecoveryOpenSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=RecoveryOrder.Reason.choices)
    explanation = serializers.CharField(help_text=_("Shown to the applicant in the timeline."))
    amount = YuanField(help_text=_("At most what has been disbursed."))


class RepaymentCreateSerializer(serializers.Serializer):
    amount = YuanField(help_text=_("At most what is still outstanding on the recovery order."))
    paid_on = serializers.DateField()
    reference = serializers.CharField(max_length=100)


class ApplicationEventSerializer(StaffOnlyFieldsMixin, serializers.ModelSerializer):
    by = UserEmailField(source="by.email")
    internal_note = serializers.CharField(read_only=True, allow_null=True)
    # The portal's message (a code of funding.messages and its parameters) with the comment, rendered in the
    # request's language: what the page shows.
    text = serializers.CharField(read_only=True)

    class Meta:
        model = ApplicationEvent
        fields = [
            "id",
            "application",
            "action",
            "from_state",
            "to_state",
            "by",
            "at",
            "comment",
            "message",
            "params",
            "text",
            "internal_note",
        ]
        staff_only_fields = ["by", "internal_note"]


class ExpertReviewSerializer(serializers.ModelSerializer):
    reviewer = UserEmailField(source="reviewer.email")
    assigned_by = UserEmailField(source="assigned_by.email")

    class Meta:
        model = ExpertReview
        fields = [
            "id",
            "application",
            "reviewer",
            "assigned_by",
            "assigned_at",
            "score",
            "recommendation",
            "opinion",
            "submitted_at",
        ]


class DisbursementSerializer(serializers.ModelSerializer):
    amount = YuanField(read_only=True)
    recorded_by = UserEmailField(source="recorded_by.email")
    released_by_report = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text=_("The accepted fund-use report that released this instalment (none for the first)."),
    )

    class Meta:
        model = Disbursement
        fields = [
            "id",
            "application",
            "number",
            "amount",
            "paid_on",
            "reference",
            "recorded_by",
            "recorded_at",
            "released_by_report",
        ]


class BudgetSerializer(serializers.ModelSerializer):
    amount = YuanField(read_only=True)
    reserved = YuanField(read_only=True)
    disbursed = YuanField(read_only=True)
    recovered = YuanField(read_only=True)
    remaining = YuanField(read_only=True)

    class Meta:
        model = SubVenueBudget
        fields = ["id", "sub_venue", "year", "amount", "reserved", "disbursed", "recovered", "remaining"]


class FundPolicySerializer(StaffOnlyFieldsMixin, serializers.ModelSerializer):
    min_amount = YuanField(read_only=True)
    max_amount = YuanField(read_only=True)
    changed_by = UserEmailField(source="changed_by.email")

    class Meta:
        model = FundPolicy
        fields = [
            "id",
            "min_amount",
            "max_amount",
            "max_paid_in_share",
            "notice_days",
            "is_demo",
            "notice_minutes",
            "effective_from",
            "changed_by",
            "reason",
        ]
        staff_only_fields = ["changed_by"]


# ---------------------------------------------------------------------------- after the grant


class MilestoneSerializer(serializers.ModelSerializer):
    class Meta:
        model = AgreementMilestone
        fields = ["order", "title", "due_on"]


class PlannedInstalmentSerializer(serializers.ModelSerializer):
    amount = YuanField(read_only=True)
    paid = serializers.SerializerMethodField(help_text=_("The instalment as paid; null while it is not."))

    class Meta:
        model = PlannedInstalment
        fields = ["number", "share", "amount", "paid"]

    @extend_schema_field(DisbursementSerializer(allow_null=True))
    def get_paid(self, instalment):
        # No query: the agreement's application and its instalments paid come prefetched
        # (selectors.agreements_visible_to).
        for paid in instalment.agreement.application.disbursements.all():
            if paid.number == instalment.number:
                return DisbursementSerializer(paid, context=self.context).data
        return None


class FundingAgreementSerializer(StaffOnlyFieldsMixin, serializers.ModelSerializer):
    amount = YuanField(read_only=True)
    recorded_by = UserEmailField(source="recorded_by.email")
    milestones = MilestoneSerializer(many=True, read_only=True)
    instalments = PlannedInstalmentSerializer(many=True, read_only=True)

    class Meta:
        model = FundingAgreement
        fields = [
            "id",
            "application",
            "amount",
            "purpose",
            "policy",
            "recorded_at",
            "recorded_by",
            "milestones",
            "instalments",
        ]
        staff_only_fields = ["recorded_by"]


class ExpenseLineSerializer(serializers.ModelSerializer):
    amount = YuanField(read_only=True)

    class Meta:
        model = ExpenseLine
        fields = ["category", "amount", "description"]


class MilestoneProgressSerializer(serializers.ModelSerializer):
    class Meta:
        model = MilestoneProgress
        fields = ["order", "milestone", "due_on", "progress"]


class FundUseReportEventSerializer(StaffOnlyFieldsMixin, serializers.ModelSerializer):
    by = UserEmailField(source="by.email")

    class Meta:
        model = FundUseReportEvent
        fields = ["action", "from_state", "to_state", "by", "at", "comment"]
        staff_only_fields = ["by"]


class FundUseReportSerializer(StaffOnlyFieldsMixin, serializers.ModelSerializer):
    instalment_number = serializers.IntegerField(source="instalment.number", read_only=True)
    disbursed = YuanField(read_only=True)
    spent = YuanField(read_only=True)
    decided_by = UserEmailField(source="decided_by.email")
    overdue = serializers.SerializerMethodField(
        help_text=_("Past its due date and not yet submitted (to be filed, or returned for changes).")
    )
    released_instalment = serializers.SerializerMethodField(
        help_text=_("The disbursement this accepted report released, once it is paid.")
    )
    documents = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text=_("The invoices and contracts attached (see /api/documents/).")
    )
    lines = ExpenseLineSerializer(many=True, read_only=True)
    progress = MilestoneProgressSerializer(many=True, read_only=True)
    events = FundUseReportEventSerializer(many=True, read_only=True)
    actions = serializers.SerializerMethodField(help_text=_("The steps you may take on the report now."))

    class Meta:
        model = FundUseReport
        fields = [
            "id",
            "application",
            "instalment",
            "instalment_number",
            "state",
            "due_on",
            "overdue",
            "disbursed",
            "spent",
            "summary",
            "submitted_at",
            "decided_at",
            "decided_by",
            "released_instalment",
            "documents",
            "lines",
            "progress",
            "events",
            "actions",
        ]
        staff_only_fields = ["decided_by"]

    def get_overdue(self, report) -> bool:
        return selectors.report_is_overdue(report)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_released_instalment(self, report):
        released = getattr(report, "released_instalment", None)  # selected with the report: no query
        return released.pk if released else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_actions(self, report) -> list[str]:
        request = self.context.get("request")
        actions = [] if request is None else [t.name for t in REPORT_WORKFLOW.available(report, request.user)]
        editable = report.state in REPORT_WORKFLOW["submit"].sources
        if request is not None and editable and report.application.entity.owner_id == request.user.pk:
            actions.insert(0, "save")
        return actions


class ExpenseLineInputSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=EXPENSE_CATEGORIES)
    amount = YuanField()
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ProgressInputSerializer(serializers.Serializer):
    order = serializers.IntegerField(min_value=1, max_value=32767, help_text=_("The milestone's order."))
    progress = serializers.CharField(allow_blank=True)


class ReportSaveSerializer(serializers.Serializer):
    """What the applicant changes in their report; what is left out stays as it is."""

    spent = YuanField(required=False, help_text=_("Spent so far, of everything disbursed so far."))
    summary = serializers.CharField(required=False, allow_blank=True)
    lines = ExpenseLineInputSerializer(
        many=True,
        required=False,
        max_length=200,
        help_text=_("The expense lines, replaced as a whole; they add up to the spend."),
    )
    progress = ProgressInputSerializer(
        many=True,
        required=False,
        max_length=200,
        help_text=_("Progress on the agreement's milestones, by order; milestones left out keep their text."),
    )


class ReportCommentSerializer(serializers.Serializer):
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", help_text=_("Shown to the applicant in the report's history.")
    )


class ReportReturnSerializer(serializers.Serializer):
    comment = serializers.CharField(help_text=_("What to change: shown to the applicant."))


class ReportDocumentSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    file = serializers.FileField(help_text=_("An invoice or contract: a PDF or an image."))


class ReportDetachSerializer(serializers.Serializer):
    document = serializers.IntegerField(min_value=1, help_text=_("The id of a document attached to the report."))


class FinalAcceptanceSerializer(StaffOnlyFieldsMixin, serializers.ModelSerializer):
    recorded_by = UserEmailField(source="recorded_by.email")

    class Meta:
        model = FinalAcceptance
        fields = ["id", "application", "result", "reasons", "accepted_on", "recorded_by", "recorded_at"]
        staff_only_fields = ["recorded_by"]


class RepaymentSerializer(StaffOnlyFieldsMixin, serializers.ModelSerializer):
    amount = YuanField(read_only=True)
    recorded_by = UserEmailField(source="recorded_by.email")

    class Meta:
        model = Repayment
        fields = ["id", "order", "amount", "paid_on", "reference", "recorded_by", "recorded_at"]
        staff_only_fields = ["recorded_by"]


class RecoveryOrderSerializer(StaffOnlyFieldsMixin, serializers.ModelSerializer):
    amount = YuanField(read_only=True)
    disbursed_when_opened = YuanField(read_only=True)
    recovered = YuanField(read_only=True)
    outstanding = YuanField(read_only=True)
    opened_by = UserEmailField(source="opened_by.email")
    repayments = RepaymentSerializer(many=True, read_only=True)

    class Meta:
        model = RecoveryOrder
        fields = [
            "id",
            "application",
            "reason",
            "explanation",
            "amount",
            "disbursed_when_opened",
            "recovered",
            "outstanding",
            "state",
            "opened_by",
            "opened_at",
            "completed_at",
            "repayments",
        ]
        staff_only_fields = ["opened_by"]
