from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from tolerance.models import InvestmentDocument


class InvestmentDocumentForm(forms.ModelForm):
    """An uploaded document: refused above the size limit, its original name kept (the stored name is random)."""

    class Meta:
        model = InvestmentDocument
        fields = ["title", "file"]

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is not None and getattr(upload, "size", 0) > settings.DOCUMENT_MAX_BYTES:
            raise forms.ValidationError(
                _("This file is %(size)s; documents may be at most %(limit)s. Upload a smaller file or a PDF.")
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(settings.DOCUMENT_MAX_BYTES)}
            )
        if upload is not None and hasattr(upload, "content_type"):
            self.instance.original_name = upload.name[:255]
        return upload
