"""Forms of the service system's pages; the rules themselves are in teams.service_requests."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from teams.models import Entity
from valley.core.documents import ACCEPT, inspect_upload
from valley.models import ServiceLine

MAX_FILES = 5


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Up to MAX_FILES PDFs or images, each checked by the one document mechanism before anything is stored."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        uploads = [upload for upload in (data if isinstance(data, list | tuple) else [data]) if upload]
        if len(uploads) > MAX_FILES:
            raise forms.ValidationError(_("Attach at most %(count)s files.") % {"count": MAX_FILES})
        for upload in uploads:
            super().clean(upload, initial)
            inspect_upload(upload)
        return uploads


class ServiceRequestForm(forms.Form):
    entity = forms.ModelChoiceField(label=_("for"), queryset=Entity.objects.none())
    line = forms.ModelChoiceField(label=_("service line"), queryset=ServiceLine.objects.all())
    subject = forms.CharField(label=_("subject"), max_length=200)
    details = forms.CharField(label=_("details"), widget=forms.Textarea)
    preferred_contact = forms.CharField(
        label=_("preferred contact"),
        max_length=200,
        required=False,
        help_text=_("How the line's staff should reach you: a phone number, an e-mail address, a time of day."),
    )
    attachments = AttachmentsField(label=_("attachments"), help_text=_("PDFs or images (PNG, JPEG, GIF, WebP)."))

    def __init__(self, *args, entities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entity"].queryset = entities
        # Most applicants have one resident team: it is the one asking, without a choice to make.
        only = list(entities[:2])
        if len(only) == 1:
            self.fields["entity"].initial = only[0].pk
            self.fields["entity"].empty_label = None


class MessageForm(forms.Form):
    body = forms.CharField(label=_("message"), widget=forms.Textarea(attrs={"rows": 4}))
    attachments = AttachmentsField(label=_("attachments"), help_text=_("PDFs or images (PNG, JPEG, GIF, WebP)."))


class RatingForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("rating"),
        coerce=int,
        choices=[(n, str(n)) for n in range(5, 0, -1)],
        widget=forms.RadioSelect,
        help_text=_("5 is excellent, 1 is poor."),
    )
    comment = forms.CharField(
        label=pgettext_lazy("rating", "comment"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


class AcceptForm(forms.Form):
    handler = forms.ModelChoiceField(label=_("handler"), queryset=None)

    def __init__(self, *args, handlers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["handler"].queryset = handlers


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 3}))


class ResolveForm(forms.Form):
    resolution = forms.CharField(label=_("resolution"), widget=forms.Textarea(attrs={"rows": 3}))
