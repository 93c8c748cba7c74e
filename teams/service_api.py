"""The service requests in the REST API: the same reads as the pages (teams.service_selectors) and the same
steps (teams.service_requests). A request the user may not read is a 404 at every operation."""

import django_filters
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from teams import service_requests as services
from teams import service_selectors as selectors
from teams.service_models import ServiceRequest
from valley.models import ServiceLine
from valley.web.api import UserEmailField
from valley.web.filters import (
    DateRangeFilter,
    IdFilter,
    NamedChoiceFilter,
    PortalFilterSet,
    SearchFilter,
    YesNoSelect,
    sub_venue_filter,
)


class ServiceRequestFilter(PortalFilterSet):
    # The lists' search box: the subject, the team's name in either language, or the request's number.
    q = SearchFilter(fields=("subject", "entity__name_zh", "entity__name_en"), label=gettext_lazy("search"))
    # By name, as on every export page (the API's programs give the line's code, as before).
    line = NamedChoiceFilter(
        queryset=ServiceLine.objects.all(),
        name_fields=("code", "name_zh", "name_en"),
        label=gettext_lazy("service line"),
    )
    state = django_filters.ChoiceFilter(choices=ServiceRequest.State.choices, label=gettext_lazy("state"))
    entity = IdFilter(label=gettext_lazy("entity"))
    sub_venue = sub_venue_filter()
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=gettext_lazy("overdue"), widget=YesNoSelect)
    submitted_on = DateRangeFilter(label=gettext_lazy("submitted on"))

    class Meta:
        model = ServiceRequest
        fields = ["q", "line", "state", "entity", "sub_venue", "overdue", "submitted_on"]

    def filter_overdue(self, queryset, name, value):
        overdue = selectors.overdue_q()
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


class ServiceRequestSerializer(serializers.ModelSerializer):
    line = serializers.SlugRelatedField(slug_field="code", read_only=True)
    handler = UserEmailField(source="handler.email", allow_null=True)

    class Meta:
        model = ServiceRequest
        fields = [
            "id",
            "entity",
            "line",
            "sub_venue",
            "subject",
            "details",
            "preferred_contact",
            "state",
            "handler",
            "submitted_at",
            "due_on",
            "accepted_at",
            "resolved_at",
            "closed_at",
            "rejection_reason",
            "resolution",
            "rating",
            "rating_comment",
            "overdue_notified_at",
        ]
        read_only_fields = fields


class AcceptSerializer(serializers.Serializer):
    handler = serializers.EmailField(help_text="The e-mail address of one of the line's staff.")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()


class ResolutionSerializer(serializers.Serializer):
    resolution = serializers.CharField()


class MessageSerializer(serializers.Serializer):
    body = serializers.CharField()


class RatingSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class ServiceRequestViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ServiceRequestSerializer
    filterset_class = ServiceRequestFilter

    def get_queryset(self):
        return selectors.service_requests_for_user(self.request.user).order_by("submitted_at", "pk")

    def _input(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _answer(self, obj):
        return Response(self.get_serializer(self.get_queryset().get(pk=obj.pk)).data, status=status.HTTP_200_OK)

    @extend_schema(request=AcceptSerializer, responses={200: ServiceRequestSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        found = self.get_object()
        email = self._input(AcceptSerializer)["handler"]
        handler = services.line_handlers(found.line_id).filter(email__iexact=email).first()
        if handler is None:
            raise services.ServiceRequestError(_("Choose a handler among the staff of this service line."))
        services.service_request_accept(request=found, by=request.user, handler=handler)
        return self._answer(found)

    @extend_schema(request=ReasonSerializer, responses={200: ServiceRequestSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        found = self.get_object()
        services.service_request_reject(request=found, by=request.user, **self._input(ReasonSerializer))
        return self._answer(found)

    @extend_schema(request=ResolutionSerializer, responses={200: ServiceRequestSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        found = self.get_object()
        services.service_request_resolve(request=found, by=request.user, **self._input(ResolutionSerializer))
        return self._answer(found)

    @extend_schema(request=MessageSerializer, responses={200: ServiceRequestSerializer})
    @action(detail=True, methods=["post"])
    def message(self, request, pk=None):
        found = self.get_object()
        services.service_request_message(request=found, by=request.user, **self._input(MessageSerializer))
        return self._answer(found)

    @extend_schema(request=RatingSerializer, responses={200: ServiceRequestSerializer})
    @action(detail=True, methods=["post"])
    def rate(self, request, pk=None):
        found = self.get_object()
        services.service_request_rate(request=found, by=request.user, **self._input(RatingSerializer))
        return self._answer(found)


ROUTES = [("service-requests", ServiceRequestViewSet, "service-request")]
