"""The API's input for each step of an exemption case (tolerance/api.py). Field errors answer 400 before
any service runs; the services in tolerance/cases.py enforce the rules."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from tolerance.models import STANDARDS, InvestmentDocument, InvestmentParty


class _OfTheCase(serializers.PrimaryKeyRelatedField):
    """A party or document of the case's own investment (anything else is "not found", a 400)."""

    def get_queryset(self):
        case = self.context["case"]
        return self.queryset.filter(investment_id=case.investment_id)


class EvidenceInput(serializers.Serializer):
    standard = serializers.ChoiceField(choices=STANDARDS, label=_("standard"))
    note = serializers.CharField(label=_("what shows it"))
    documents = _OfTheCase(queryset=InvestmentDocument.objects.all(), many=True, required=False, default=list)


class StatementInput(serializers.Serializer):
    party = _OfTheCase(queryset=InvestmentParty.objects.all(), label=_("accountable party"))
    text = serializers.CharField(label=_("statement"))
    made_on = serializers.DateField(label=_("date of the statement"))


class CommentInput(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", label=_("comment"))


class OpinionInput(serializers.Serializer):
    text = serializers.CharField(label=_("opinion"))
    given_on = serializers.DateField(label=_("date of the opinion"))


class PartyDecision(serializers.Serializer):
    party = _OfTheCase(queryset=InvestmentParty.objects.all(), label=_("accountable party"))
    exempt = serializers.BooleanField(label=_("exempt from accountability"))
    reason = serializers.CharField(label=_("reasons"))


class DeterminationInput(serializers.Serializer):
    meeting_date = serializers.DateField(label=_("meeting date"))
    document_number = serializers.CharField(max_length=100, label=_("document number"))
    decisions = PartyDecision(many=True)


class NotifyInput(serializers.Serializer):
    notified_on = serializers.DateField(label=_("date the parties were notified"))
    how = serializers.CharField(max_length=200, label=_("how they were notified"))


class ReexamineInput(serializers.Serializer):
    reason = serializers.CharField(label=_("why the case is re-examined"))
