"""django-filter FilterSets for the valley app's lists, exports and API."""

import django_filters
from django.utils.translation import gettext_lazy as _

from valley.models import AuditEntry


class AuditEntryFilter(django_filters.FilterSet):
    at = django_filters.IsoDateTimeFromToRangeFilter(label=_("between"))
    action = django_filters.CharFilter(lookup_expr="startswith", label=_("action starts with"))
    object_type = django_filters.CharFilter(label=_("object type"))
    object_id = django_filters.CharFilter(label=_("object id"))
    actor_email = django_filters.CharFilter(lookup_expr="iexact", label=_("actor e-mail"))

    class Meta:
        model = AuditEntry
        fields = ["at", "action", "object_type", "object_id", "actor_email"]
