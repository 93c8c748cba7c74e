"""List filters for teams and startups, shared by the API and (later) the CSV exports.

Plain FilterSets: pass them a queryset from teams.selectors, so filtering never widens what the user sees."""

import django_filters
from django.utils.translation import gettext_lazy as _

from teams.models import Achievement, AchievementStageChange, Document, Entity, Member, Registration, Residency
from teams.residency_request_models import ResidencyRequest
from valley.models import FocusArea, Institution
from valley.web.filters import (
    DateRangeFilter,
    IdFilter,
    NamedChoiceFilter,
    PortalFilterSet,
    SearchFilter,
    sub_venue_filter,
)


def institution_filter(field_name: str = "institution") -> NamedChoiceFilter:
    """The origin institution, chosen by its name in either language or its short name."""
    return NamedChoiceFilter(
        field_name=field_name,
        queryset=Institution.objects.all(),
        name_fields=("name_zh", "name_en", "short_name"),
        label=_("origin institution"),
    )


class EntityFilter(PortalFilterSet):
    # The list's search box: the name in either language or the registered company's USCC.
    q = SearchFilter(fields=("name_zh", "name_en", "registration__uscc"), number_field=None)
    institution = institution_filter()
    focus_area = NamedChoiceFilter(
        queryset=FocusArea.objects.all(), name_fields=("code", "name_zh", "name_en"), label=_("focus area")
    )
    sub_venue = sub_venue_filter("residencies__sub_venue", distinct=True)
    created_at = DateRangeFilter()

    class Meta:
        model = Entity
        fields = ["q", "kind", "institution", "focus_area", "sub_venue", "created_at"]


class MemberFilter(PortalFilterSet):
    entity = IdFilter()

    class Meta:
        model = Member
        fields = ["entity", "is_lead"]


class ResidencyFilter(PortalFilterSet):
    # An id, not a choice among all entities: an invalid choice would tell that someone else's entity exists.
    entity = IdFilter()
    sub_venue = sub_venue_filter()
    selected_on = DateRangeFilter()

    class Meta:
        model = Residency
        fields = ["entity", "sub_venue", "status", "selected_on"]


class AchievementFilter(PortalFilterSet):
    # An id, not a choice among all entities: an invalid choice would tell that someone else's entity exists.
    entity = IdFilter()
    created_at = DateRangeFilter()

    class Meta:
        model = Achievement
        fields = ["entity", "kind", "stage", "created_at"]


class RegistrationFilter(PortalFilterSet):
    # An id, not a choice among all entities: an invalid choice would tell that someone else's entity exists.
    entity = IdFilter()
    registered_on = DateRangeFilter()

    class Meta:
        model = Registration
        fields = ["entity", "registered_on"]


class AchievementStageChangeFilter(PortalFilterSet):
    achievement = IdFilter()
    entity = IdFilter(field_name="achievement__entity", label=_("entity"))
    changed_on = DateRangeFilter()

    class Meta:
        model = AchievementStageChange
        fields = ["achievement", "entity", "to_stage", "changed_on"]


class DocumentFilter(PortalFilterSet):
    entity = IdFilter()
    uploaded_at = DateRangeFilter()

    class Meta:
        model = Document
        fields = ["entity", "uploaded_at"]


class ResidencyRequestFilter(PortalFilterSet):
    """The residency requests' lists (the staff queue, the applicant's own): search, sub-venue, institution, when."""

    q = SearchFilter(fields=("entity__name_zh", "entity__name_en", "entity__registration__uscc"))
    sub_venue = sub_venue_filter()
    institution = institution_filter("entity__institution")
    status = django_filters.ChoiceFilter(choices=ResidencyRequest.Status.choices, label=_("status"))
    submitted_at = DateRangeFilter(label=_("submitted at"))

    class Meta:
        model = ResidencyRequest
        fields = ["q", "sub_venue", "institution", "status", "submitted_at"]
