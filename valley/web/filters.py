"""The two filter types every app's FilterSets use for ids and date ranges, so that no value typed into a
URL can overflow the database."""

import datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_filters.fields import DateRangeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

BIGGEST_ID = 2**63 - 1  # PostgreSQL's bigint and SQLite's INTEGER
EARLIEST_DATE, LATEST_DATE = datetime.date(1900, 1, 1), datetime.date(9998, 12, 31)


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
