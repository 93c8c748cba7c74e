from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from funding.models import Application, ExpertReview
from teams.uscc import validate_uscc
from valley.core.money import parse_yuan


class YuanField(forms.Field):
    """An amount of yuan typed by a person: see valley.core.money.parse_yuan for what is accepted."""

    widget = forms.TextInput

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", _("In yuan, for example 500000 or 500,000.00."))
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "maxlength": "40", "autocomplete": "off"})

    def to_python(self, value):
        if value in self.empty_values:
            return None
        return parse_yuan(value)

    def validate(self, value):
        if value is None and self.required:
            parse_yuan("")  # raises the "enter an amount" message


class ApplicationForm(forms.ModelForm):
    amount = YuanField(label=_("Amount requested (yuan)"))

    class Meta:
        model = Application
        fields = ["entity", "amount", "purpose", "plan"]
        widgets = {"plan": forms.Textarea(attrs={"rows": 8})}

    def __init__(self, *args, entities=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entity"].queryset = entities
        self.fields["entity"].label = _("Team or startup")
        if self.instance.pk:
            self.fields["entity"].disabled = True

    def clean_amount(self):
        from funding.services import amount_problem, policy_current

        amount = self.cleaned_data["amount"]
        policy = self.instance.policy if self.instance.policy_id else policy_current()
        if amount is not None and (problem := amount_problem(amount, policy)):
            raise ValidationError(problem)
        return amount


class CommentForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to the applicant in the timeline."),
    )
    internal_note = forms.CharField(
        label=_("Internal note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Seen by staff and auditors only."),
    )


class ApproveForm(CommentForm):
    approved_amount = YuanField(
        label=_("Approved amount (yuan)"), required=False, help_text=_("Leave empty to approve the amount requested.")
    )


class ObjectionForm(forms.Form):
    objection = forms.CharField(label=_("Objection"), widget=forms.Textarea(attrs={"rows": 3}))


class AssignReviewerForm(forms.Form):
    reviewer = forms.ModelChoiceField(label=_("Expert reviewer"), queryset=None)

    def __init__(self, *args, reviewers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewer"].queryset = reviewers


class ReviewForm(forms.ModelForm):
    score = forms.IntegerField(label=_("Score (0–100)"), min_value=0, max_value=100)
    recommendation = forms.ChoiceField(label=_("Recommendation"), choices=ExpertReview.Recommendation.choices)

    class Meta:
        model = ExpertReview
        fields = ["score", "recommendation", "opinion"]
        widgets = {"opinion": forms.Textarea(attrs={"rows": 4})}


class RegistrationVerificationForm(forms.Form):
    company_name = forms.CharField(label=_("Registered company name"), max_length=200)
    uscc = forms.CharField(
        label=_("Unified Social Credit Code"), max_length=40, validators=[validate_uscc], strip=False
    )
    registered_on = forms.DateField(label=_("Registration date"), widget=forms.DateInput(attrs={"type": "date"}))
    registered_capital = YuanField(label=_("Registered capital (yuan)"))
    paid_in_capital = YuanField(label=_("Paid-in capital (yuan)"))
    legal_representative = forms.CharField(label=_("Legal representative"), max_length=100)
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        registered, paid_in = data.get("registered_capital"), data.get("paid_in_capital")
        if registered is not None and paid_in is not None and paid_in > registered:
            raise ValidationError({"paid_in_capital": _("Paid-in capital cannot exceed registered capital.")})
        return data


class DisbursementForm(forms.Form):
    amount = YuanField(label=_("Instalment amount (yuan)"))
    paid_on = forms.DateField(label=_("Paid on"), widget=forms.DateInput(attrs={"type": "date"}))
    reference = forms.CharField(label=_("Payment reference"), max_length=100)
