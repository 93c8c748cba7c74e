from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from funding.models import Application, ExpertReview, FinalAcceptance, RecoveryOrder
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
    """The next instalment of the agreement's plan (`planned`, from services.release_problem): its amount is
    shown filled in and read-only; the service refuses an amount that differs from the plan's."""

    amount = YuanField(label=_("Instalment amount (yuan)"))
    paid_on = forms.DateField(label=_("Paid on"), widget=forms.DateInput(attrs={"type": "date"}))
    reference = forms.CharField(label=_("Payment reference"), max_length=100)

    def __init__(self, *args, planned=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.planned = planned
        amount = self.fields["amount"]
        amount.widget.attrs["readonly"] = "readonly"
        if planned is None:  # nothing left to release: the service says why
            amount.required = False
            amount.help_text = ""
            return
        self.initial.setdefault("amount", f"{planned.amount:,.2f}")
        amount.help_text = _("Instalment %(number)s of the agreement's plan (%(share)s%%); it cannot be changed.") % {
            "number": planned.number,
            "share": f"{planned.share:.2f}",
        }


# ------------------------------------------------------------------ the grant after the money: staff


def _date_field(label):
    return forms.DateField(label=label, widget=forms.DateInput(attrs={"type": "date"}))


class AcceptanceForm(forms.Form):
    result = forms.ChoiceField(label=_("Result"), choices=FinalAcceptance.Result.choices, widget=forms.RadioSelect)
    reasons = forms.CharField(
        label=_("Reasons"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Shown to the applicant in the timeline."),
    )
    accepted_on = _date_field(_("Date of the acceptance"))


class RecoveryOpenForm(forms.Form):
    """A recovery order on `application`: at most what was disbursed (post_award.recovery_amount_problem)."""

    reason = forms.ChoiceField(label=_("Reason"), choices=[("", "—"), *RecoveryOrder.Reason.choices])
    explanation = forms.CharField(
        label=_("Explanation"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Shown to the applicant in the timeline."),
    )
    amount = YuanField(label=_("Amount to recover (yuan)"))

    def __init__(self, *args, application, **kwargs):
        super().__init__(*args, **kwargs)
        self.application = application
        self.fields["amount"].help_text = _("At most the %(amount)s yuan disbursed.") % {
            "amount": f"{application.disbursed_total:,.2f}"
        }

    def clean_amount(self):
        from funding.post_award import recovery_amount_problem

        amount = self.cleaned_data["amount"]
        if amount is not None and (problem := recovery_amount_problem(self.application, amount)):
            raise ValidationError(problem)
        return amount


class RepaymentForm(forms.Form):
    """A repayment against the recovery order `order`: at most what is outstanding."""

    amount = YuanField(label=_("Amount repaid (yuan)"))
    paid_on = _date_field(_("Repaid on"))
    reference = forms.CharField(label=_("Payment reference"), max_length=100)

    def __init__(self, *args, order, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        if order is not None:
            self.initial.setdefault("amount", f"{order.outstanding:,.2f}")
            self.fields["amount"].help_text = _("%(amount)s yuan of the recovery order is outstanding.") % {
                "amount": f"{order.outstanding:,.2f}"
            }

    def clean_amount(self):
        from funding.post_award import repayment_amount_problem

        amount = self.cleaned_data["amount"]
        if amount is not None and self.order is not None and (problem := repayment_amount_problem(self.order, amount)):
            raise ValidationError(problem)
        return amount


class ReviseAmountForm(forms.Form):
    """The approved amount of `application` revised down at registration (services.revised_amount_problem); with
    the verified paid-in capital, also within the policy's share of it (services.paid_in_limit)."""

    paid_in_capital = YuanField(
        label=_("Verified paid-in capital (yuan)"),
        required=False,
        help_text=_("When given, the amount is checked against the share of it the fund may grant."),
    )
    amount = YuanField(label=_("Revised approved amount (yuan)"))
    comment = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to the applicant in the timeline."),
    )

    def __init__(self, *args, application, **kwargs):
        super().__init__(*args, **kwargs)
        self.application = application

    def clean(self):
        from funding.services import paid_in_limit, revised_amount_problem

        data = super().clean()
        amount, paid_in = data.get("amount"), data.get("paid_in_capital")
        if amount is None:
            return data
        if problem := revised_amount_problem(self.application, amount):
            self.add_error("amount", problem)
        elif paid_in is not None and amount > (limit := paid_in_limit(self.application, paid_in)):
            self.add_error(
                "amount",
                _("For a paid-in capital of %(paid_in)s yuan the grant may be at most %(limit)s yuan.")
                % {"paid_in": f"{paid_in:,.2f}", "limit": f"{limit:,.2f}"},
            )
        return data


class ReasonForm(forms.Form):
    comment = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to the applicant in the timeline."),
    )
