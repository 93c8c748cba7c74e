"""Reads of teams and startups, each scoped to what the user may see. Fixed query counts per page."""

from django.db.models import Exists, OuterRef, Q, QuerySet

from teams.models import Achievement, AchievementStageChange, Document, Entity, Member, Registration, Residency
from valley import roles


def entities_visible_to(user) -> QuerySet[Entity]:
    """Applicants see their own entities; staff every entity (operators: those resident, now or before, in
    their sub-venues); auditors all."""
    base = Entity.objects.select_related("owner")
    if not user.is_authenticated:
        return base.none()
    if roles.is_auditor(user) or roles.sees_every_sub_venue(user):
        return base
    if roles.is_staff_member(user):
        in_operated = Residency.objects.filter(entity=OuterRef("pk"), sub_venue__in=roles.operated_sub_venue_ids(user))
        return base.filter(Q(Exists(in_operated)) | Q(owner=user))
    return base.filter(owner=user)


def _of_visible_entities(queryset: QuerySet, user) -> QuerySet:
    return queryset.filter(entity__in=entities_visible_to(user).values("pk"))


def members_visible_to(user) -> QuerySet[Member]:
    return _of_visible_entities(Member.objects.order_by("entity_id", "-is_lead", "name", "pk"), user)


def residencies_visible_to(user) -> QuerySet[Residency]:
    return _of_visible_entities(Residency.objects.select_related("decided_by").order_by("-selected_on", "pk"), user)


def achievements_visible_to(user) -> QuerySet[Achievement]:
    return _of_visible_entities(Achievement.objects.order_by("title", "pk"), user)


def registrations_visible_to(user) -> QuerySet[Registration]:
    return _of_visible_entities(Registration.objects.select_related("verified_by").order_by("pk"), user)


def achievement_stage_changes_visible_to(user) -> QuerySet[AchievementStageChange]:
    visible = achievements_visible_to(user).values("pk")
    return (
        AchievementStageChange.objects.filter(achievement__in=visible)
        .select_related("changed_by")
        .order_by("changed_on", "pk")
    )


def documents_visible_to(user) -> QuerySet[Document]:
    return _of_visible_entities(Document.objects.select_related("uploaded_by").order_by("-uploaded_at", "-pk"), user)
