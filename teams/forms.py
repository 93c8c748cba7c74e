"""Forms for applicants' self-service pages. They validate input; the services make the change."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from teams.models import Achievement, Entity, Member
from valley.core.documents import ACCEPT, inspect_upload
from valley.models import FocusArea, Institution


class EntityForm(forms.ModelForm):
    institution = forms.ModelChoiceField(queryset=Institution.objects.all(), label=_("origin institution"))
    focus_area = forms.ModelChoiceField(queryset=FocusArea.objects.all(), label=_("focus area"))

    class Meta:
        model = Entity
        fields = ["kind", "name_zh", "name_en", "institution", "focus_area", "summary", "contact_email"]
        widgets = {"summary": forms.Textarea(attrs={"rows": 4})}


class MemberForm(forms.ModelForm):
    class Meta:
        model = Member
        fields = ["name", "role", "email", "phone", "is_lead"]
        help_texts = {"is_lead": _("Marking this person as the lead takes the mark from the previous lead.")}


class AchievementForm(forms.ModelForm):
    """A new achievement: what it is, the stage it has reached and since when."""

    stage_since = forms.DateField(
        label=_("at this stage since"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty for today."),
    )

    class Meta:
        model = Achievement
        fields = ["title", "kind", "stage", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def clean_stage_since(self):
        value = self.cleaned_data.get("stage_since")
        if value and value > timezone.localdate():
            raise ValidationError(_("The date cannot be in the future."))
        return value


class AchievementEditForm(forms.ModelForm):
    class Meta:
        model = Achievement
        fields = ["title", "kind", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}


class StageChangeForm(forms.Form):
    to_stage = forms.ChoiceField(label=_("new stage"), choices=Achievement.Stage.choices)
    changed_on = forms.DateField(
        label=_("date of the change"), widget=forms.DateInput(attrs={"type": "date"}), initial=timezone.localdate
    )
    note = forms.CharField(label=_("note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class DocumentForm(forms.Form):
    title = forms.CharField(label=_("title"), max_length=200)
    file = forms.FileField(
        label=_("file"),
        help_text=_("A PDF or an image (PNG, JPEG, GIF, WebP)."),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        inspect_upload(upload)  # raises ValidationError saying what is wrong, before anything is stored
        return upload
