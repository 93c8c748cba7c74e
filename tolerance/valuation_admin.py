"""Valuation marks in the staff admin: listed and filtered by everyone who reads the portfolio, added by
portfolio managers through tolerance.valuation (the same rules, lock and audit entry as the page), and
never changed or deleted: a correction is a new mark. Imported by tolerance/admin.py (Django's admin
discovery reads only that module)."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from tolerance.models import ValuationMark
from tolerance.valuation import valuation_mark_problems, valuation_mark_record
from tolerance.valuation_forms import fair_value_field
from valley.web.admin_format import NumbersAdminMixin
from valley.web.admin_initial import ValidInitialMixin
from valley.web.admin_lists import LargeTableAdminMixin, year_filter
from valley.web.admin_services import ServiceErrorsAsMessagesMixin, adopt_saved

FIELDS = ["investment", "as_of", "fair_value", "method", "evidence", "document"]


class ValuationMarkAdminForm(forms.ModelForm):
    fair_value = fair_value_field()

    class Meta:
        model = ValuationMark
        fields = FIELDS

    def clean(self):
        data = super().clean()
        investment = data.get("investment")
        if investment is not None and not self.errors:
            problems = valuation_mark_problems(investment=investment, **{name: data.get(name) for name in FIELDS[1:]})
            for name, messages in problems.items():
                for message in messages:
                    self.add_error(name if name in self.fields else None, message)
        return data


@admin.register(ValuationMark)
class ValuationMarkAdmin(
    NumbersAdminMixin, ServiceErrorsAsMessagesMixin, ValidInitialMixin, LargeTableAdminMixin, admin.ModelAdmin
):
    form = ValuationMarkAdminForm
    fields = [*FIELDS, "recorded_by", "recorded_at"]
    readonly_fields = ["recorded_by", "recorded_at"]
    list_display = ["investment", "as_of", "fair_value", "method", "recorded_by", "recorded_at"]
    list_filter = ["method", "investment__fund", year_filter("as_of", _("valuation year"))]
    list_select_related = ["investment__fund", "investment__startup", "recorded_by"]
    search_fields = ["investment__startup__name_zh", "investment__startup__name_en", "evidence"]
    raw_id_fields = ["investment", "document"]

    def has_change_permission(self, request, obj=None):
        # The list needs it; an existing mark is only viewed (its page is read-only).
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = valuation_mark_record(by=request.user, **{name: form.cleaned_data.get(name) for name in FIELDS})
        adopt_saved(obj, saved)
