"""Forms of the residency request pages. They validate input; teams.residency_requests makes the change."""

from django import forms
from django.utils.translation import gettext_lazy as _

from teams.residency_request_models import ResidencyNeed
from teams.residency_requests import open_sub_venues
from valley.core.documents import ACCEPT, inspect_upload


class ResidencyRequestForm(forms.Form):
    sub_venue = forms.ModelChoiceField(queryset=open_sub_venues(), label=_("sub-venue"), empty_label=None)
    reason = forms.CharField(
        label=_("why this sub-venue"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What the team works on and why this sub-venue suits it."),
    )
    needs = forms.MultipleChoiceField(
        label=_("what the team needs"),
        choices=ResidencyNeed.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    needs_detail = forms.CharField(
        label=_("more about what it needs"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: 200 m² of pilot-scale space with three-phase power."),
    )
    documents = forms.ModelMultipleChoiceField(
        label=_("documents already on the profile"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    file = forms.FileField(
        label=_("a new document"),
        required=False,
        help_text=_("A PDF or an image (PNG, JPEG, GIF, WebP): a business plan, a description of the achievement."),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )
    file_title = forms.CharField(label=_("title of the new document"), max_length=200, required=False)

    def __init__(self, *args, entity, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sub_venue"].queryset = open_sub_venues()
        self.fields["documents"].queryset = entity.documents.order_by("-uploaded_at", "-pk")

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload:
            inspect_upload(upload)  # says what is wrong before anything is stored
        return upload


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("reason for the applicant"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The applicant reads it in the mail and on the request's page."),
    )


class SelectForm(forms.Form):
    note = forms.CharField(
        label=_("note for the applicant"), max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
