"""The forms of the case page: one per step. They check the input; tolerance/cases.py enforces the rules."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tolerance.models import STANDARDS, ExemptionCase

DATE = forms.DateInput(attrs={"type": "date"})


class EvidenceForm(forms.Form):
    standard = forms.ChoiceField(label=_("standard"), choices=STANDARDS)
    note = forms.CharField(label=_("what shows it"), widget=forms.Textarea(attrs={"rows": 3}))
    documents = forms.ModelMultipleChoiceField(label=_("documents"), queryset=None, required=False)

    def __init__(self, *args, case: ExemptionCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["documents"].queryset = case.investment.documents.all()


class StatementForm(forms.Form):
    party = forms.ModelChoiceField(label=_("accountable party"), queryset=None)
    text = forms.CharField(label=_("statement"), widget=forms.Textarea(attrs={"rows": 3}))
    made_on = forms.DateField(label=_("date of the statement"), widget=DATE)

    def __init__(self, *args, case: ExemptionCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["party"].queryset = case.investment.parties.all()


class GatherForm(forms.Form):
    comment = forms.CharField(label=_("comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, case: ExemptionCase, **kwargs):
        super().__init__(*args, **kwargs)


class OpinionForm(forms.Form):
    text = forms.CharField(label=_("opinion"), widget=forms.Textarea(attrs={"rows": 4}))
    given_on = forms.DateField(label=_("date of the opinion"), widget=DATE)

    def __init__(self, *args, case: ExemptionCase, **kwargs):
        super().__init__(*args, **kwargs)


class DeterminationForm(forms.Form):
    """The meeting, the document number and, for every party, exempt or not with reasons."""

    meeting_date = forms.DateField(label=_("meeting date"), widget=DATE)
    document_number = forms.CharField(label=_("document number"), max_length=100)

    def __init__(self, *args, case: ExemptionCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.parties = list(case.investment.parties.all())
        for party in self.parties:
            self.fields[f"exempt_{party.pk}"] = forms.TypedChoiceField(
                label=str(party),
                choices=[("yes", _("exempt")), ("no", _("not exempt"))],
                coerce=lambda value: value == "yes",
                widget=forms.RadioSelect,
            )
            self.fields[f"reason_{party.pk}"] = forms.CharField(
                label=_("reasons"), widget=forms.Textarea(attrs={"rows": 2})
            )

    def party_rows(self):
        return [(party, self[f"exempt_{party.pk}"], self[f"reason_{party.pk}"]) for party in self.parties]

    def decisions(self) -> dict[int, tuple[bool, str]]:
        return {
            party.pk: (self.cleaned_data[f"exempt_{party.pk}"], self.cleaned_data[f"reason_{party.pk}"])
            for party in self.parties
        }


class NotifyForm(forms.Form):
    notified_on = forms.DateField(label=_("date the parties were notified"), widget=DATE)
    how = forms.CharField(label=_("how they were notified"), max_length=200)

    def __init__(self, *args, case: ExemptionCase, **kwargs):
        super().__init__(*args, **kwargs)


class ReexamineForm(forms.Form):
    reason = forms.CharField(label=_("why the case is re-examined"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, case: ExemptionCase, **kwargs):
        super().__init__(*args, **kwargs)
