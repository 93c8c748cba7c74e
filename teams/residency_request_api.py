"""Residency requests in the REST API: the same scope, filters and services as the pages.

Applicants list their own requests and submit new ones (documents already on the profile, by id); staff of a
sub-venue list its requests and select or decline them; the applicant withdraws one while it waits.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from teams import residency_requests as service
from teams.models import Document, Entity
from teams.residency_request_models import ResidencyNeed, ResidencyRequest
from valley.web.api import UserEmailField
from valley.web.filters import DateRangeFilter, IdFilter, PortalFilterSet


class ResidencyRequestFilter(PortalFilterSet):
    # An id, not a choice among all entities: an invalid choice would tell that someone else's entity exists.
    entity = IdFilter()
    submitted_at = DateRangeFilter()

    class Meta:
        model = ResidencyRequest
        fields = ["entity", "sub_venue", "status", "submitted_at"]


class ResidencyRequestSerializer(serializers.ModelSerializer):
    needs = serializers.ListField(child=serializers.ChoiceField(choices=ResidencyNeed.choices), read_only=True)
    submitted_by = UserEmailField(source="submitted_by.email")
    decided_by = UserEmailField(source="decided_by.email")
    documents = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = ResidencyRequest
        fields = [
            "id",
            "entity",
            "sub_venue",
            "status",
            "reason",
            "needs",
            "needs_detail",
            "documents",
            "submitted_by",
            "submitted_at",
            "decided_by",
            "decided_at",
            "decision_reason",
            "residency",
        ]


class ResidencyRequestCreateSerializer(serializers.Serializer):
    entity = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    sub_venue = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    reason = serializers.CharField(max_length=4000)
    needs = serializers.ListField(child=serializers.ChoiceField(choices=ResidencyNeed.choices), required=False)
    needs_detail = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    documents = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), required=False, max_length=50
    )

    def validate_entity(self, value):
        # Only the applicant's own teams: any other id reads as "no such team", hiding which ids exist.
        entity = Entity.objects.filter(owner=self.context["request"].user, pk=value).first()
        if entity is None:
            raise serializers.ValidationError(_("No team or startup of yours has this id."))
        return entity

    def validate_sub_venue(self, value):
        sub_venue = service.open_sub_venues().filter(pk=value).first()
        if sub_venue is None:
            raise serializers.ValidationError(_("Choose an open sub-venue."))
        return sub_venue

    def validate(self, data):
        ids = set(data.get("documents") or [])
        found = list(Document.objects.filter(entity=data["entity"], pk__in=ids)) if ids else []
        if len(found) != len(ids):
            raise serializers.ValidationError({"documents": _("Attach only this team's own documents.")})
        data["documents"] = found
        return data


class DeclineSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=4000)


class SelectSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class ResidencyRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = ResidencyRequestSerializer
    filterset_class = ResidencyRequestFilter

    def get_queryset(self):
        return (
            service.residency_requests_visible_to(self.request.user)
            .select_related("submitted_by")
            .prefetch_related("documents")
            .order_by("submitted_at", "pk")
        )

    def _input(self, serializer_class):
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _answer(self, obj, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=obj.pk)).data, status=code)

    @extend_schema(request=ResidencyRequestCreateSerializer, responses={201: ResidencyRequestSerializer})
    def create(self, request, *args, **kwargs):
        data = self._input(ResidencyRequestCreateSerializer)
        created = service.residency_request_submit(by=request.user, **data)
        return self._answer(created, status.HTTP_201_CREATED)

    @extend_schema(request=SelectSerializer, responses={200: ResidencyRequestSerializer})
    @action(detail=True, methods=["post"])
    def select(self, request, pk=None):
        residency_request = self.get_object()
        service.residency_request_select(request=residency_request, by=request.user, **self._input(SelectSerializer))
        return self._answer(residency_request)

    @extend_schema(request=DeclineSerializer, responses={200: ResidencyRequestSerializer})
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        residency_request = self.get_object()
        service.residency_request_decline(request=residency_request, by=request.user, **self._input(DeclineSerializer))
        return self._answer(residency_request)

    @extend_schema(request=None, responses={200: ResidencyRequestSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        residency_request = self.get_object()
        service.residency_request_withdraw(request=residency_request, by=request.user)
        return self._answer(residency_request)


ROUTES = [("residency-requests", ResidencyRequestViewSet, "residency-request")]
