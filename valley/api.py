"""The valley's reference data in the REST API: read-only, for every signed-in user, as on the public pages.

Serializers show both languages of every name and nothing else; filters use the bounded types of
valley.web.filters; the routes are registered with the one API router in ValleyConfig.ready().
"""

from rest_framework import serializers, viewsets

from valley.models import FocusArea, Institution, ServiceLine, SubVenue, Target, Valley
from valley.web.filters import DateRangeFilter, PortalFilterSet


class ValleySerializer(serializers.ModelSerializer):
    class Meta:
        model = Valley
        fields = [
            "id",
            "name_zh",
            "name_en",
            "opened_on",
            "launch_venue_zh",
            "launch_venue_en",
            "description_zh",
            "description_en",
        ]


class SubVenueSerializer(serializers.ModelSerializer):
    class Meta:
        model = SubVenue
        fields = ["id", "code", "name_zh", "name_en", "city_zh", "city_en", "host_institution", "opened_on", "status"]


class InstitutionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Institution
        fields = ["id", "kind", "name_zh", "name_en", "short_name", "city_zh", "city_en"]


class FocusAreaSerializer(serializers.ModelSerializer):
    class Meta:
        model = FocusArea
        fields = ["id", "code", "name_zh", "name_en"]


class ServiceLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = ServiceLine
        fields = ["id", "code", "name_zh", "name_en", "description_zh", "description_en"]


class TargetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Target
        fields = ["id", "code", "name_zh", "name_en", "target_value", "measure", "recorded_value", "sort_order"]


class SubVenueFilter(PortalFilterSet):
    opened_on = DateRangeFilter()

    class Meta:
        model = SubVenue
        fields = ["status", "code", "opened_on"]


class InstitutionFilter(PortalFilterSet):
    class Meta:
        model = Institution
        fields = ["kind"]


class TargetFilter(PortalFilterSet):
    class Meta:
        model = Target
        fields = ["measure"]


class ValleyViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Valley.objects.order_by("pk")
    serializer_class = ValleySerializer


class SubVenueViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = SubVenue.objects.all()
    serializer_class = SubVenueSerializer
    filterset_class = SubVenueFilter


class InstitutionViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Institution.objects.all()
    serializer_class = InstitutionSerializer
    filterset_class = InstitutionFilter


class FocusAreaViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = FocusArea.objects.all()
    serializer_class = FocusAreaSerializer


class ServiceLineViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = ServiceLine.objects.all()
    serializer_class = ServiceLineSerializer


class TargetViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Target.objects.all()
    serializer_class = TargetSerializer
    filterset_class = TargetFilter


ROUTES = [
    ("valley", ValleyViewSet, "valley"),
    ("sub-venues", SubVenueViewSet, "sub-venue"),
    ("institutions", InstitutionViewSet, "institution"),
    ("focus-areas", FocusAreaViewSet, "focus-area"),
    ("service-lines", ServiceLineViewSet, "service-line"),
    ("targets", TargetViewSet, "target"),
]
