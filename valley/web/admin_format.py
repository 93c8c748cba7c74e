"""One way to show and take numbers in the admin, as on the pages (valley/templatetags/valley_format.py):
money as ¥1,000,000.00 and typed as 1,000,000.00; shares as percentages with two decimals; history
actions as the workflow's words instead of their codes."""

from decimal import Decimal

from django.contrib import admin
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from valley.templatetags.valley_format import percent, yuan
from valley.web.fields import YuanField

# Every app declares money as DecimalField(max_digits=14, decimal_places=2) (their MONEY).
MONEY_DIGITS, MONEY_PLACES = 14, 2


def is_money(field) -> bool:
    return isinstance(field, models.DecimalField) and (field.max_digits, field.decimal_places) == (
        MONEY_DIGITS,
        MONEY_PLACES,
    )


def _column(name: str, verbose_name, show):
    def column(obj):
        return show(getattr(obj, name))

    column.short_description = capfirst(verbose_name)
    column.admin_order_field = name
    column.__name__ = name  # what the changelist's header and its CSS class are named after
    return column


class NumbersAdminMixin:
    """Money columns read ¥1,000,000.00 and money fields take 1,000,000.00 (or ¥1,000,000, full-width
    digits: valley.core.money.parse_yuan); the fields named in `share_fields` (fractions such as 0.500)
    read 50.00%. Django's own admin shows 600000.00 and 0.500 and refuses a grouped amount with
    "Enter a number."."""

    share_fields: tuple[str, ...] = ()

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if is_money(db_field) and db_field.editable and not db_field.choices:
            # An amount that starts at nothing (recovered, co-investment) may be set back to it; any other
            # (a payment, a limit, a budget) must be positive, as on the pages.
            starts_at_zero = db_field.has_default() and db_field.get_default() == 0
            return YuanField(
                label=capfirst(db_field.verbose_name),
                required=not db_field.blank,
                allow_zero=starts_at_zero,
                help_text=db_field.help_text or _("In yuan, for example 500000 or 500,000.00."),
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_list_display(self, request):
        shown = []
        for name in super().get_list_display(request):
            field = self._model_field(name)
            if field is not None and is_money(field):
                shown.append(_column(name, field.verbose_name, yuan))
            elif field is not None and name in self.share_fields:
                shown.append(_column(name, field.verbose_name, _share))
            else:
                shown.append(name)
        return shown

    # Read-only fields: Django shows a model field's value through display_for_field (600000.00), with no
    # hook, so a read-only money or share field is shown instead by a method named `<field>_shown`
    # (answered by __getattr__), and the field lists say that name where they said the field's.

    def _shown_name(self, name):
        field = self._model_field(name)
        if field is not None and (is_money(field) or name in self.share_fields):
            return f"{name}{SHOWN}"
        return name

    def get_readonly_fields(self, request, obj=None):
        return [self._shown_name(name) for name in super().get_readonly_fields(request, obj)]

    def __init_subclass__(cls, **kwargs):
        # An admin that decides its read-only fields itself (by the object's state) need not remember to map
        # them: its own get_readonly_fields is wrapped here. Mapping twice changes nothing.
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("get_readonly_fields")
        if own is not None:

            def get_readonly_fields(self, request, obj=None):
                return [self._shown_name(name) for name in own(self, request, obj)]

            cls.get_readonly_fields = get_readonly_fields

    def _shown_in(self, names, shown) -> list:
        # A field shown read-only by its method is not also a form field (Django's own form for the field
        # lists would otherwise offer it for editing).
        def mapped(name):
            if isinstance(name, list | tuple):  # fields on one line
                return tuple(mapped(each) for each in name)
            return f"{name}{SHOWN}" if f"{name}{SHOWN}" in shown else name

        return list(dict.fromkeys(mapped(name) for name in names))

    def _shown_names(self, request, obj, names) -> set:
        shown = set(self.get_readonly_fields(request, obj))
        if obj is not None and not self.has_change_permission(request, obj):
            # Someone who may only view (an auditor) sees every field read-only, which Django decides past
            # get_readonly_fields: their money and share fields are shown by their methods too.
            shown |= {self._shown_name(name) for name in _flat(names)}
        return shown

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return self._shown_in(fields, self._shown_names(request, obj, fields))

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        shown = self._shown_names(request, obj, [name for _title, options in fieldsets for name in options["fields"]])
        return [
            (title, {**options, "fields": self._shown_in(options["fields"], shown)}) for title, options in fieldsets
        ]

    def __getattr__(self, name):
        if name.endswith(SHOWN) and not name.startswith("_"):
            base = name.removesuffix(SHOWN)
            field = self._model_field(base)
            if field is not None and is_money(field):
                return _readonly(base, field.verbose_name, yuan)
            if field is not None and base in type(self).share_fields:
                return _readonly(base, field.verbose_name, _share)
        raise AttributeError(name)

    def _model_field(self, name):
        if not isinstance(name, str):
            return None
        try:
            return self.model._meta.get_field(name)
        except Exception:  # a method or a related lookup, not a field of the model
            return None


SHOWN = "_shown"


def _flat(names):
    for name in names:
        if isinstance(name, list | tuple):  # fields on one line
            yield from _flat(name)
        else:
            yield name


def _readonly(name: str, verbose_name, show):
    def shown(obj):
        return show(getattr(obj, name))

    shown.short_description = capfirst(verbose_name)
    return shown


def _share(value) -> str:
    return "—" if value is None else percent(Decimal(value) * 100)


def action_column(workflow, *, field: str = "action"):
    """A column (or read-only field) showing a history row's action as `workflow` names it."""

    @admin.display(description=_("action"))
    def action_shown(self, event):
        return workflow.action_label(getattr(event, field))

    return action_shown
