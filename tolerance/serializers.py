"""How the portfolio looks in the REST API: funds, investments, their parties, reports and exemptions."""

from rest_framework import serializers

from tolerance.models import (
    REPORT_FIGURES,
    CompanyReport,
    ComplianceReport,
    ExemptionDetermination,
    Fund,
    Investment,
    InvestmentParty,
)
from tolerance.monitoring import InvalidFigures, clean_figures
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
    co_investment = YuanField(read_only=True)
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
            "co_investment",
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
    class Meta:
        model = ExemptionDetermination
        fields = ["id", "report", "investment", "party", "exempt", "reason", "determined_at"]


class CompanyReportSerializer(serializers.ModelSerializer):
    revenue = YuanField(read_only=True)
    rd_spend = YuanField(read_only=True)
    follow_on_funding = YuanField(read_only=True)

    class Meta:
        model = CompanyReport
        fields = [
            "id",
            "entity",
            "year",
            "quarter",
            "state",
            "due_on",
            *REPORT_FIGURES,
            "note",
            "submitted_at",
            "decided_at",
        ]
        read_only_fields = fields


class CompanyReportSaveSerializer(serializers.Serializer):
    """All six figures (money in yuan as a string, e.g. "120000.50"; counts as whole numbers) and a note."""

    revenue = serializers.CharField(max_length=40)
    employees = serializers.CharField(max_length=20)
    rd_spend = serializers.CharField(max_length=40)
    patents_filed = serializers.CharField(max_length=20)
    patents_granted = serializers.CharField(max_length=20)
    follow_on_funding = serializers.CharField(max_length=40)
    note = serializers.CharField(required=False, allow_blank=True)

    def validate(self, attrs):
        try:
            figures = clean_figures(attrs)
        except InvalidFigures as error:
            raise serializers.ValidationError(error.errors) from None
        return {"figures": figures, "note": attrs.get("note")}


class CompanyReportCommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")
