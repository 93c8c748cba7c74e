"""The FilterSet every app's filters derive from, and the filter types they use for ids and date ranges, so
that no value typed into a URL can overflow the database."""

import datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django_filters.conf import settings as filter_settings
from django_filters.fields import DateRangeField
from django_filters.utils import label_for_filter
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

BIGGEST_ID = 2**63 - 1  # PostgreSQL's bigint and SQLite's INTEGER
EARLIEST_DATE, LATEST_DATE = datetime.date(1900, 1, 1), datetime.date(9998, 12, 31)

_label_in_the_readers_language = lazy(label_for_filter, str)


class PortalFilterSet(django_filters.FilterSet):
    """django-filter's FilterSet, with the labels of the filters it makes from model fields read in the reader's
    language. django-filter turns such a label into text the first time it is read and keeps it on the class:
    whoever read it first (the API schema, in English) fixed its language for every later page, and the
    exports page said "Status" on a Chinese page."""

    @classmethod
    def filter_for_field(cls, field, field_name, lookup_expr=None):
        made = super().filter_for_field(field, field_name, lookup_expr)
        if made._label is None:
            lookup = lookup_expr or filter_settings.DEFAULT_LOOKUP_EXPR
            made.label = _label_in_the_readers_language(cls._meta.model, field_name, lookup, made.exclude)
        return made


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """A record's id: a whole number in the database's range (a bigger one is refused with a message, not a 500)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", -BIGGEST_ID)
        kwargs.setdefault("max_value", BIGGEST_ID)
        super().__init__(*args, **kwargs)


class _BoundedDateRangeField(DateRangeField):
    def compress(self, data_list):
        for value in data_list or ():
            if value and not EARLIEST_DATE <= value <= LATEST_DATE:
                raise ValidationError(
                    _("Enter a date between %(earliest)s and %(latest)s."),
                    code="out_of_range",
                    params={"earliest": EARLIEST_DATE.isoformat(), "latest": LATEST_DATE.isoformat()},
                )
        return super().compress(data_list)


class DateRangeFilter(django_filters.DateFromToRangeFilter):
    """`<name>_after` and `<name>_before` (inclusive dates), refused with a message outside 1900–9998."""

    field_class = _BoundedDateRangeField


class _NamedChoiceField(forms.ModelChoiceField):
    """A choice shown by its name in the reader's language; a URL may give its id (as programs do), its code,
    or its name in either language (typing 太原 works)."""

    default_error_messages = {
        "invalid_choice": _("Nothing is called “%(value)s” here. Choose one from the list."),
    }

    def __init__(self, *args, name_fields=("name_zh", "name_en"), **kwargs):
        self.name_fields = name_fields
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj) -> str:
        return obj.name

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, self.queryset.model):
            return value
        text = str(value).strip()
        invalid = ValidationError(self.error_messages["invalid_choice"], code="invalid_choice", params={"value": text})
        if not text or "\x00" in text or len(text) > 200:
            raise invalid
        is_id = text.isascii() and text.isdigit() and int(text) <= BIGGEST_ID
        if is_id and (found := self.queryset.filter(pk=int(text)).first()) is not None:
            return found
        condition = Q()
        for name in self.name_fields:
            condition |= Q(**{f"{name}__iexact": text})
        matches = list(self.queryset.filter(condition)[:2])
        if len(matches) == 1:
            return matches[0]
        if is_id:
            return int(text)  # an id that names nothing: no rows, as programs have always been answered
        raise invalid


class NamedChoiceFilter(django_filters.ModelChoiceFilter):
    """A sub-venue, an institution or a focus area, chosen by name (see _NamedChoiceField)."""

    field_class = _NamedChoiceField


def sub_venue_filter(field_name: str = "sub_venue", **kwargs) -> NamedChoiceFilter:
    """The sub-venue filter every list and export shares: chosen by name, code or id."""
    from valley.models import SubVenue

    kwargs.setdefault("label", _("sub-venue"))
    return NamedChoiceFilter(
        field_name=field_name, queryset=SubVenue.objects.all(), name_fields=("code", "name_zh", "name_en"), **kwargs
    )


class SearchFilter(django_filters.CharFilter):
    """The search box of a list (and of its export, so "export this view" keeps it): the words appear in one of
    `fields` (any case), or the text is a record's number (`#12` or `12`) when `number_field` is given."""

    def __init__(self, *, fields: tuple[str, ...], number_field: str | None = "pk", **kwargs):
        self.search_fields, self.number_field = fields, number_field
        kwargs.setdefault("label", _("search"))
        kwargs.setdefault("max_length", 100)
        super().__init__(**kwargs)

    def filter(self, qs, value):
        text = (value or "").strip()
        if not text:
            return qs
        condition = Q()
        for name in self.search_fields:
            condition |= Q(**{f"{name}__icontains": text})
        number = text.removeprefix("#")
        if self.number_field and number.isascii() and number.isdigit() and int(number) <= BIGGEST_ID:
            condition |= Q(**{self.number_field: int(number)})
        return qs.filter(condition)


class YesNoSelect(forms.NullBooleanSelect):
    """A yes/no filter's choice that also reads `1` and `0`, as links and the older checkboxes give it."""

    def value_from_datadict(self, data, files, name):
        value = data.get(name)
        if value in ("1", "0"):
            return value == "1"
        return super().value_from_datadict(data, files, name)
