"""Read-only API of the valley's reference data: every signed-in user may read it, as on the public pages."""

from rest_framework import viewsets

from valley.filters import InstitutionFilter, SubVenueFilter, TargetFilter
from valley.models import FocusArea, Institution, ServiceLine, SubVenue, Target, Valley
from valley.serializers import (
    FocusAreaSerializer,
    InstitutionSerializer,
    ServiceLineSerializer,
    SubVenueSerializer,
    TargetSerializer,
    ValleySerializer,
)


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
