from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from funding.models import EXPENSE_CATEGORIES, Application, ExpertReview, FinalAcceptance, RecoveryOrder
from teams.uscc import validate_uscc
from valley.web.fields import YuanField


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


class AssignLeadForm(forms.Form):
    lead = forms.ModelChoiceField(
        label=_("Lead"), queryset=None, error_messages={"invalid_choice": _("Choose a staff member from the list.")}
    )

    def __init__(self, *args, candidates=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead"].queryset = candidates


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


# ------------------------------------------------------------------ the grant after the money: applicant


class FundUseReportForm(forms.Form):
    """The applicant's fund-use report: the spend so far, a summary and the progress on each milestone of the
    agreement (one field per milestone, `progress_<order>`). The expense lines are ExpenseLineFormSet."""

    spent = YuanField(
        label=_("Spent so far (yuan)"),
        required=False,
        help_text=_("All of the disbursed money spent up to now, in yuan. Leave empty while nothing is spent."),
    )
    summary = forms.CharField(
        label=_("Summary of the spend"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What the money was used for, in a few sentences."),
    )

    def __init__(self, *args, report, milestones, **kwargs):
        super().__init__(*args, **kwargs)
        self.report = report
        self.milestones = list(milestones)
        for milestone in self.milestones:
            self.fields[f"progress_{milestone.order}"] = forms.CharField(
                label=milestone.title, required=False, widget=forms.Textarea(attrs={"rows": 2})
            )

    def progress_fields(self):
        """(milestone, bound field) for each milestone of the agreement, in order."""
        return [(milestone, self[f"progress_{milestone.order}"]) for milestone in self.milestones]

    def clean_spent(self):
        from funding.post_award import spend_problem

        spent = self.cleaned_data["spent"] or Decimal("0.00")
        if problem := spend_problem(spent, self.report.disbursed):
            raise ValidationError(problem)
        return spent

    def progress(self) -> dict[int, str]:
        return {m.order: self.cleaned_data.get(f"progress_{m.order}", "") for m in self.milestones}


class ExpenseLineForm(forms.Form):
    """One expense line. A row left empty is no line; a row begun needs its category and amount."""

    category = forms.ChoiceField(label=_("Category"), choices=[("", "—"), *EXPENSE_CATEGORIES], required=False)
    amount = YuanField(label=_("Amount (yuan)"), required=False, help_text="")
    description = forms.CharField(label=_("Description"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The lines stand in a table headed by the labels: each input still says what it is to a screen reader.
        for field in self.fields.values():
            field.widget.attrs["aria-label"] = field.label

    def is_blank(self) -> bool:
        return not any(str(self[name].data or "").strip() for name in ("category", "amount", "description"))

    def clean(self):
        data = super().clean()
        if self.is_blank():
            return data
        if not data.get("category") and "category" not in self.errors:
            self.add_error("category", _("Choose a category for this line."))
        if data.get("amount") is None and "amount" not in self.errors:
            self.add_error("amount", _("Enter the amount of this line."))
        return data


class BaseExpenseLineFormSet(forms.BaseFormSet):
    """The lines as a whole: they add up to the spend (checked by post_award.expense_lines_problem, the rule the
    service applies, here to say so above the lines). `spent` is the spend of the report form, once valid."""

    def __init__(self, *args, spent=None, disbursed=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.spent, self.disbursed = spent, disbursed

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = _("Remove this line")
            form.fields["DELETE"].widget.attrs["aria-label"] = form.fields["DELETE"].label

    def lines(self) -> list[dict]:
        return [
            {key: form.cleaned_data[key] for key in ("category", "amount", "description")}
            for form in self.forms
            if form.cleaned_data and not form.is_blank() and not self._should_delete_form(form)
        ]

    def clean(self):
        from funding.post_award import expense_lines_problem

        if any(self.errors) or self.spent is None:
            return
        if problem := expense_lines_problem(self.spent, self.lines(), self.disbursed):
            raise ValidationError(problem)


ExpenseLineFormSet = forms.formset_factory(
    ExpenseLineForm, formset=BaseExpenseLineFormSet, extra=3, can_delete=True, max_num=200, absolute_max=200
)


class ReportDecisionForm(forms.Form):
    """Finance's decision on a submitted report: accept it, or return it with a comment saying what to change."""

    decision = forms.ChoiceField(choices=[("accept", "accept"), ("return", "return")], widget=forms.HiddenInput)
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to the applicant. Required when you return the report."),
    )

    def clean(self):
        from funding.workflow import REPORT_WORKFLOW

        data = super().clean()
        decision = data.get("decision")
        if decision and REPORT_WORKFLOW[decision].needs_comment and not data.get("comment", "").strip():
            self.add_error("comment", _("Write a comment for the applicant: it says what to change."))
        return data


# ------------------------------------------------------------------ the grant after the money: staff


def _date_field(label):
    # A date input takes only ISO dates: a localised initial value (2026/12/08 in Chinese) would show as empty.
    return forms.DateField(label=label, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


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
