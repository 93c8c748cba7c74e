"""How the start-up fund looks in the REST API, and the input its write endpoints accept.

Serializers only shape data: every write goes through funding.services, exactly as the web pages do.
Amounts are strings with two decimals; users appear only as e-mail addresses."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from funding.models import Application, ApplicationEvent, Disbursement, ExpertReview, FundPolicy, SubVenueBudget
from funding.workflow import WORKFLOW
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
    # Left out: the plan's amount for the next instalment (services.application_disburse refuses any other).
    amount = YuanField(required=False)
    paid_on = serializers.DateField()
    reference = serializers.CharField(max_length=100)


class ApplicationEventSerializer(StaffOnlyFieldsMixin, serializers.ModelSerializer):
    by = UserEmailField(source="by.email")
    internal_note = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = ApplicationEvent
        fields = ["id", "application", "action", "from_state", "to_state", "by", "at", "comment", "internal_note"]
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

    class Meta:
        model = Disbursement
        fields = ["id", "application", "number", "amount", "paid_on", "reference", "recorded_by", "recorded_at"]


class BudgetSerializer(serializers.ModelSerializer):
    amount = YuanField(read_only=True)
    reserved = YuanField(read_only=True)
    disbursed = YuanField(read_only=True)
    remaining = YuanField(read_only=True)

    class Meta:
        model = SubVenueBudget
        fields = ["id", "sub_venue", "year", "amount", "reserved", "disbursed", "remaining"]


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
            "effective_from",
            "changed_by",
            "reason",
        ]
        staff_only_fields = ["changed_by"]
