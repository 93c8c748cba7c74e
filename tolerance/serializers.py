"""How the portfolio looks in the REST API: funds, investments, their parties, reports and exemptions."""

from decimal import Decimal

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from tolerance.models import (
    REPORT_FIGURES,
    CaseEvent,
    CompanyReport,
    ComplianceReport,
    ExemptionCase,
    ExemptionDetermination,
    Fund,
    Investment,
    InvestmentDocument,
    InvestmentParty,
    ValuationMark,
    ValuationMethod,
)
from tolerance.monitoring import InvalidFigures, clean_figures
from tolerance.rates import Rounding
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


class RoundingField(serializers.ChoiceField):
    """A rates.Rounding code, or null when the shown rate tells no lie."""

    def __init__(self, **kwargs):
        super().__init__(choices=Rounding.choices, read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value):
        return value or None


_ROUNDING_HELP = _(
    "Set when the rate, rounded half-up to two decimals, equals a line its exact value is not on: "
    "above_threshold (shows as the threshold but exceeds it: a breach), below_warning (shows as the warning "
    "level but is below it). The verdict always compares the exact fraction."
)


class InvestmentDocumentSerializer(serializers.ModelSerializer):
    """A document's description and where to download it: the page that checks permission first."""

    uploaded_by = UserEmailField(source="uploaded_by.email")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = InvestmentDocument
        fields = [
            "id",
            "investment",
            "kind",
            "title",
            "original_name",
            "content_type",
            "size",
            "uploaded_by",
            "uploaded_at",
            "download_url",
        ]

    def get_download_url(self, document) -> str:
        path = reverse("tolerance:investment_document_download", args=[document.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class ComplianceReportSerializer(serializers.ModelSerializer):
    """A report. The rates are null, and the verdict is "no_data", when no investment qualified."""

    qualifying_principal = YuanField(read_only=True)
    qualifying_loss = YuanField(read_only=True)
    computed_by = UserEmailField(source="computed_by.email")
    rate_by_count_rounding = RoundingField(source="count_rounding", help_text=_ROUNDING_HELP)
    rate_by_amount_rounding = RoundingField(source="amount_rounding", help_text=_ROUNDING_HELP)

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
            "rate_by_count_rounding",
            "rate_by_amount",
            "rate_by_amount_rounding",
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


class ValuationMarkSerializer(serializers.ModelSerializer):
    fair_value = YuanField(read_only=True)
    recorded_by = UserEmailField(source="recorded_by.email")

    class Meta:
        model = ValuationMark
        fields = [
            "id",
            "investment",
            "as_of",
            "fair_value",
            "method",
            "evidence",
            "document",
            "recorded_by",
            "recorded_at",
        ]


class FairValueField(YuanField):
    """Yuan as everywhere, except that 0 is a fair value (a holding written down to nothing), not a refusal."""

    def to_internal_value(self, data):
        if isinstance(data, str | int) and not isinstance(data, bool) and str(data).strip() in {"0", "0.0", "0.00"}:
            return Decimal("0.00")
        return super().to_internal_value(data)


class ValuationMarkCreateSerializer(serializers.Serializer):
    """What a portfolio manager sends to record a mark; the service checks the rules that need the investment."""

    investment = serializers.PrimaryKeyRelatedField(queryset=Investment.objects.all())
    as_of = serializers.DateField()
    fair_value = FairValueField(help_text=_("Yuan with fen; 0 for a holding written down to nothing."))
    method = serializers.ChoiceField(choices=ValuationMethod.choices)
    evidence = serializers.CharField(max_length=4000)
    document = serializers.PrimaryKeyRelatedField(
        queryset=InvestmentDocument.objects.all(), required=False, allow_null=True
    )
