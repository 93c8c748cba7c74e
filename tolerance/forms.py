from django import forms
from django.utils.translation import gettext_lazy as _

from tolerance.models import REPORT_FIGURES, InvestmentDocument
from tolerance.monitoring import InvalidFigures, clean_figures
from valley.core.documents import ACCEPT, inspect_upload


class InvestmentDocumentForm(forms.ModelForm):
    """An investment's document, for the admin (its inline and its own page) and the staff page. The file is
    checked here, so a refusal is shown next to it; tolerance.documents.investment_document_upload checks it
    again and stores it (the form never saves)."""

    class Meta:
        model = InvestmentDocument
        fields = ["kind", "title", "file"]
        help_texts = {"file": _("A PDF or an image (PNG, JPEG, GIF, WebP).")}
        widgets = {"file": forms.ClearableFileInput(attrs={"accept": ACCEPT})}

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is not None and hasattr(upload, "content_type"):  # a new upload, not the stored file
            inspect_upload(upload)  # raises ValidationError saying what is wrong, before anything is stored
        return upload


class CompanyReportForm(forms.Form):
    """The six figures of a quarterly report, as the startup types them. They are read by
    tolerance.monitoring.clean_figures, whose message for each figure shows next to it (the service reads
    them the same way again)."""

    revenue = forms.CharField(label=_("revenue (yuan)"), required=False, max_length=40)
    employees = forms.CharField(
        label=_("employees"), required=False, max_length=20, help_text=_("At the end of the quarter.")
    )
    rd_spend = forms.CharField(label=_("R&D spend (yuan)"), required=False, max_length=40)
    patents_filed = forms.CharField(label=_("patents filed"), required=False, max_length=20)
    patents_granted = forms.CharField(label=_("patents granted"), required=False, max_length=20)
    follow_on_funding = forms.CharField(
        label=_("follow-on funding raised (yuan)"),
        required=False,
        max_length=40,
        help_text=_("Money raised from investors in the quarter; 0 if none."),
    )
    note = forms.CharField(label=_("note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in REPORT_FIGURES:
            self.fields[name].widget.attrs.update({"inputmode": "decimal", "autocomplete": "off"})

    def clean(self):
        data = super().clean()
        try:
            data["figures"] = clean_figures({name: data.get(name, "") for name in REPORT_FIGURES})
        except InvalidFigures as error:
            for name, message in error.errors.items():
                self.add_error(name, message)
        return data

    @classmethod
    def initial_of(cls, report) -> dict:
        initial = {name: getattr(report, name) for name in REPORT_FIGURES if getattr(report, name) is not None}
        initial["note"] = report.note
        return initial


class CompanyReportDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("decision"),
        choices=[
            ("accept", _("accept the quarterly report")),
            ("return", _("return the quarterly report for changes")),
        ],
    )
    comment = forms.CharField(
        label=_("comment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Needed when you return the report: it says what to change."),
    )
