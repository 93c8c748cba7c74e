from django import forms
from django.utils.translation import gettext_lazy as _

from tolerance.models import InvestmentDocument
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
