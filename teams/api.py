"""Read-only API of teams and startups: applicants read their own, staff their sub-venues', auditors all."""

from rest_framework import viewsets

from teams import selectors
from teams.filters import (
    AchievementFilter,
    AchievementStageChangeFilter,
    DocumentFilter,
    EntityFilter,
    MemberFilter,
    RegistrationFilter,
    ResidencyFilter,
)
from teams.serializers import (
    AchievementSerializer,
    AchievementStageChangeSerializer,
    DocumentSerializer,
    EntitySerializer,
    MemberSerializer,
    RegistrationSerializer,
    ResidencySerializer,
)


class EntityViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = EntitySerializer
    filterset_class = EntityFilter

    def get_queryset(self):
        return selectors.entities_visible_to(self.request.user).order_by("name_zh", "pk")


class MemberViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = MemberSerializer
    filterset_class = MemberFilter

    def get_queryset(self):
        return selectors.members_visible_to(self.request.user)


class ResidencyViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ResidencySerializer
    filterset_class = ResidencyFilter

    def get_queryset(self):
        return selectors.residencies_visible_to(self.request.user)


class AchievementViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = AchievementSerializer
    filterset_class = AchievementFilter

    def get_queryset(self):
        return selectors.achievements_visible_to(self.request.user)


class RegistrationViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = RegistrationSerializer
    filterset_class = RegistrationFilter

    def get_queryset(self):
        return selectors.registrations_visible_to(self.request.user)


class AchievementStageChangeViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = AchievementStageChangeSerializer
    filterset_class = AchievementStageChangeFilter

    def get_queryset(self):
        return selectors.achievement_stage_changes_visible_to(self.request.user)


class DocumentViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DocumentSerializer
    filterset_class = DocumentFilter

    def get_queryset(self):
        return selectors.documents_visible_to(self.request.user)


# Registered with the one API router in TeamsConfig.ready().
ROUTES = [
    ("entities", EntityViewSet, "entity"),
    ("members", MemberViewSet, "member"),
    ("residencies", ResidencyViewSet, "residency"),
    ("achievements", AchievementViewSet, "achievement"),
    ("achievement-stage-changes", AchievementStageChangeViewSet, "achievement-stage-change"),
    ("registrations", RegistrationViewSet, "registration"),
    ("documents", DocumentViewSet, "document"),
]
