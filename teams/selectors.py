"""Reads for the teams app, always scoped to the person asking.

Who sees what:
- applicants: the entities whose `owner` they are, and nothing else;
- provincial staff, auditors and staff without a sub-venue scope: every entity;
- sub-venue operators: the entities with an active residency in one of their sub-venues.

Views, the admin and (later) the API build on these querysets, so a record missing from them is a
404 everywhere. Editing rights are narrower than reading rights: auditors read, never write.
"""

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery

from teams.models import Achievement, AchievementStageChange, Document, Entity, Member, Registration, Residency
from valley.core import roles, scoping


def _entity_q(user) -> Q | None:
    """The condition on Entity that limits `user` to their scope; None means every entity.

    Staff reach an entity through its active residency, scoped by valley.core.scoping; applicants
    (and anyone else) reach only the entities they own."""
    if scoping.sees_every_sub_venue(user):
        return None
    if roles.has_role(user, roles.SUB_VENUE_OPERATOR):
        active = Residency.objects.filter(entity=OuterRef("pk"), status__in=Residency.ACTIVE_STATUSES)
        return Q(Exists(scoping.in_scope(active, user)))
    return Q(owner=user)


def _scope(user, queryset: QuerySet) -> QuerySet:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    condition = _entity_q(user)
    return queryset if condition is None else queryset.filter(condition)


def entities_for_user(user) -> QuerySet[Entity]:
    """The entities `user` may see, with what lists need (institution, focus area) joined in."""
    return _scope(user, Entity.objects.select_related("institution", "focus_area"))


def entities_editable_by(user) -> QuerySet[Entity]:
    """The entities `user` may change: their own (applicants) or those in their scope (staff)."""
    if roles.is_auditor(user):
        return Entity.objects.none()
    if roles.is_staff_member(user) or getattr(user, "is_superuser", False):
        return entities_for_user(user) if _may_change_entities(user) else Entity.objects.none()
    return _scope(user, Entity.objects.select_related("institution", "focus_area").filter(owner=user))


def user_may_edit_entity(user, entity: Entity) -> bool:
    """The same rule as `entities_editable_by`, for one entity already in hand (at most one query)."""
    if not getattr(user, "is_authenticated", False) or roles.is_auditor(user):
        return False
    if roles.is_staff_member(user) or user.is_superuser:
        return _may_change_entities(user) and entities_for_user(user).filter(pk=entity.pk).exists()
    return entity.owner_id == user.pk


def _may_change_entities(user) -> bool:
    """Staff change teams only in a role that valley/roles.py grants teams.change_entity (provincial staff,
    operators): a reviewer or a finance officer reads them, as in the admin."""
    return roles.has_role(user, *roles.roles_granting("teams.change_entity"))


def _current_residency_subquery(field: str):
    """The latest residency's `field` for the entity in the outer query (newest selection first)."""
    return Subquery(Residency.objects.filter(entity=OuterRef("pk")).order_by("-selected_on", "-pk").values(field)[:1])


def entity_list_for_user(user) -> QuerySet[Entity]:
    """The entities for a list page: counts and the current residency annotated, one query per page."""
    return (
        entities_for_user(user)
        .annotate(
            member_count=Count("members", distinct=True),
            achievement_count=Count("achievements", distinct=True),
            residency_status=_current_residency_subquery("status"),
            residency_sub_venue_zh=_current_residency_subquery("sub_venue__name_zh"),
            residency_sub_venue_en=_current_residency_subquery("sub_venue__name_en"),
        )
        .order_by("name_zh", "pk")
    )


def entity_detail_for_user(user) -> QuerySet[Entity]:
    """Entities with everything the detail page shows, prefetched: a fixed number of queries."""
    return (
        entities_for_user(user)
        .select_related("registration", "owner")
        .prefetch_related(
            Prefetch("members", queryset=Member.objects.order_by("-is_lead", "name", "pk")),
            Prefetch(
                "achievements",
                queryset=Achievement.objects.order_by("title", "pk").prefetch_related(
                    Prefetch("stage_changes", queryset=AchievementStageChange.objects.order_by("changed_on", "pk"))
                ),
            ),
            Prefetch("residencies", queryset=Residency.objects.select_related("sub_venue").order_by("-selected_on")),
            Prefetch("documents", queryset=Document.objects.order_by("-uploaded_at", "-pk")),
        )
    )


def documents_for_user(user) -> QuerySet[Document]:
    """Documents of the entities `user` may see; the download view serves nothing else."""
    return Document.objects.filter(entity__in=_scope(user, Entity.objects.all()).values("pk"))


def entities_selectable_by(user) -> QuerySet[Entity]:
    """Candidates for a residency decision: entities with no active residency, for any staff member.

    Operators need to see candidates before they are resident anywhere, or they could never select
    one into their own sub-venue; entities resident elsewhere stay hidden from them.
    """
    if not (getattr(user, "is_superuser", False) or roles.is_staff_member(user)):
        return Entity.objects.none()
    active = Residency.objects.filter(entity=OuterRef("pk"), status__in=Residency.ACTIVE_STATUSES)
    return Entity.objects.select_related("institution", "focus_area").filter(~Exists(active))


def entity_has_active_residency(entity: Entity) -> bool:
    return Residency.objects.filter(entity=entity, status__in=Residency.ACTIVE_STATUSES).exists()


def residency_filter_q(status: str) -> Q:
    """Entities whose current (active) residency has `status`; "none" means no active residency."""
    active = Residency.objects.filter(entity=OuterRef("pk"), status__in=Residency.ACTIVE_STATUSES)
    if status == "none":
        return ~Q(Exists(active))
    return Q(Exists(Residency.objects.filter(entity=OuterRef("pk"), status=status)))


# --- the API's lists: the same scope as the pages (_scope), one queryset per resource ------------------


def entities_visible_to(user) -> QuerySet[Entity]:
    return _scope(user, Entity.objects.select_related("owner"))


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


def _latest_sub_venue(entity_ref: str):
    """The sub-venue of the entity's latest residency (active or ended): where it was cultivated."""
    return Subquery(
        Residency.objects.filter(entity=OuterRef(entity_ref)).order_by("-selected_on", "-pk").values("sub_venue")[:1]
    )


def entity_counts_for_home():
    """The home page's counts (valley.selectors.EntityCounts): two grouped queries whatever the data size."""
    from valley.selectors import EntityCounts

    entity_groups = list(
        Entity.objects.annotate(venue=_latest_sub_venue("pk"))
        .values("kind", "venue", "focus_area")
        .annotate(count=Count("pk"))
        .order_by()
    )
    transformed = list(
        Achievement.objects.filter(stage=Achievement.Stage.TRANSFORMED)
        .annotate(venue=_latest_sub_venue("entity_id"), focus_area=F("entity__focus_area"))
        .values("venue", "focus_area")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return EntityCounts(
        research_teams=sum(row["count"] for row in entity_groups if row["kind"] == Entity.Kind.RESEARCH_TEAM),
        startups=[row for row in entity_groups if row["kind"] == Entity.Kind.STARTUP],
        transformed=transformed,
    )
