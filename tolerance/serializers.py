"""How the portfolio looks in the REST API: funds, investments, their parties, reports and exemptions."""

from rest_framework import serializers

from tolerance.models import (
    CaseEvent,
    ComplianceReport,
    ExemptionCase,
    ExemptionDetermination,
    Fund,
    Investment,
    InvestmentParty,
)
from valley.web.api import UserEmailField, YuanField


class FundSerializer(serializers.ModelSerializer):
    size = YuanField(read_only=True)

    class Meta:
        model = Fund
        fields = [
            "id",
            "name_zh",
            "name_en",
            "manager",
            "entrusted_institution",
            "size",
            "tolerance_threshold",
            "warning_level",
            "governing_basis",
            "created_at",
        ]


class InvestmentSerializer(serializers.ModelSerializer):
    principal = YuanField(read_only=True)
    recovered = YuanField(read_only=True)
    meets_standards = serializers.BooleanField(read_only=True)

    class Meta:
        model = Investment
        fields = [
            "id",
            "fund",
            "startup",
            "invested_on",
            "principal",
            "stake",
            "state",
            "recovered",
            "failure_kind",
            "failed_on",
            "decision_procedure",
            "due_diligence",
            "risks_disclosed",
            "no_conflict",
            "no_fraud",
            "meets_standards",
            "created_at",
            "updated_at",
        ]


class InvestmentPartySerializer(serializers.ModelSerializer):
    class Meta:
        model = InvestmentParty
        fields = ["id", "investment", "role", "organisation", "person", "position"]


class ComplianceReportSerializer(serializers.ModelSerializer):
    qualifying_principal = YuanField(read_only=True)
    qualifying_loss = YuanField(read_only=True)
    computed_by = UserEmailField(source="computed_by.email")

    class Meta:
        model = ComplianceReport
        fields = [
            "id",
            "fund",
            "as_of",
            "investment_count",
            "qualifying_count",
            "failed_count",
            "unqualified_failed_count",
            "qualifying_principal",
            "qualifying_loss",
            "rate_by_count",
            "rate_by_amount",
            "governing_basis",
            "tolerance_threshold",
            "warning_level",
            "verdict",
            "computed_at",
            "computed_by",
        ]


class ExemptionDeterminationSerializer(serializers.ModelSerializer):
    """A determination of a decided case; `superseded` when a re-examination's determination replaced it."""

    superseded = serializers.SerializerMethodField()

    class Meta:
        model = ExemptionDetermination
        fields = [
            "id",
            "case",
            "report",
            "investment",
            "party",
            "exempt",
            "reason",
            "meeting_date",
            "document_number",
            "determined_at",
            "supersedes",
            "superseded",
        ]

    def get_superseded(self, obj) -> bool:
        return getattr(obj, "superseded_flag", False)


class CaseEventSerializer(serializers.ModelSerializer):
    by = UserEmailField(source="by.email")

    class Meta:
        model = CaseEvent
        fields = ["action", "from_state", "to_state", "by", "at", "comment"]


class ExemptionCaseSerializer(serializers.ModelSerializer):
    """A case with its history (prefetched by the view: a fixed number of queries per page)."""

    events = CaseEventSerializer(many=True, read_only=True)

    class Meta:
        model = ExemptionCase
        fields = [
            "id",
            "investment",
            "kind",
            "reexamines",
            "report",
            "governing_basis",
            "governing_rate",
            "opened_by_check",
            "reason",
            "state",
            "opened_at",
            "state_changed_at",
            "events",
        ]
