"""List filters for teams and startups, shared by the API and (later) the CSV exports.

Plain FilterSets: pass them a queryset from teams.selectors, so filtering never widens what the user sees."""

import django_filters
from django.utils.translation import gettext_lazy as _

from teams.models import Achievement, AchievementStageChange, Document, Entity, Member, Registration, Residency
from valley.models import FocusArea, Institution
from valley.web.filters import DateRangeFilter, IdFilter, NamedChoiceFilter, sub_venue_filter


class EntityFilter(django_filters.FilterSet):
    institution = NamedChoiceFilter(
        queryset=Institution.objects.all(),
        name_fields=("name_zh", "name_en", "short_name"),
        label=_("origin institution"),
    )
    focus_area = NamedChoiceFilter(
        queryset=FocusArea.objects.all(), name_fields=("code", "name_zh", "name_en"), label=_("focus area")
    )
    sub_venue = sub_venue_filter("residencies__sub_venue", distinct=True)
    created_at = DateRangeFilter()

    class Meta:
        model = Entity
        fields = ["kind", "institution", "focus_area", "sub_venue", "created_at"]


class MemberFilter(django_filters.FilterSet):
    entity = IdFilter()

    class Meta:
        model = Member
        fields = ["entity", "is_lead"]


class ResidencyFilter(django_filters.FilterSet):
    # An id, not a choice among all entities: an invalid choice would tell that someone else's entity exists.
    entity = IdFilter()
    sub_venue = sub_venue_filter()
    selected_on = DateRangeFilter()

    class Meta:
        model = Residency
        fields = ["entity", "sub_venue", "status", "selected_on"]


class AchievementFilter(django_filters.FilterSet):
    # An id, not a choice among all entities: an invalid choice would tell that someone else's entity exists.
    entity = IdFilter()
    created_at = DateRangeFilter()

    class Meta:
        model = Achievement
        fields = ["entity", "kind", "stage", "created_at"]


class RegistrationFilter(django_filters.FilterSet):
    # An id, not a choice among all entities: an invalid choice would tell that someone else's entity exists.
    entity = IdFilter()
    registered_on = DateRangeFilter()

    class Meta:
        model = Registration
        fields = ["entity", "registered_on"]


class AchievementStageChangeFilter(django_filters.FilterSet):
    achievement = IdFilter()
    entity = IdFilter(field_name="achievement__entity", label=_("entity"))
    changed_on = DateRangeFilter()

    class Meta:
        model = AchievementStageChange
        fields = ["achievement", "entity", "to_stage", "changed_on"]


class DocumentFilter(django_filters.FilterSet):
    entity = IdFilter()
    uploaded_at = DateRangeFilter()

    class Meta:
        model = Document
        fields = ["entity", "uploaded_at"]
