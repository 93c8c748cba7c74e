"""The one rule that limits staff to their sub-venues, used by every selector, service and admin.

Provincial staff, auditors (for reading) and staff without the operator role reach every sub-venue; a
sub-venue operator reaches only the sub-venues they operate (User.sub_venues); anyone else none.
"""

from django.db.models import Q, QuerySet

from valley.core import roles


def sees_every_sub_venue(user) -> bool:
    """Provincial staff and auditors see all sub-venues; operators only their own."""
    return roles.has_role(user, roles.PROVINCIAL_STAFF, roles.AUDITOR) or (
        roles.is_staff_member(user) and roles.SUB_VENUE_OPERATOR not in roles.role_codes(user)
    )


def operated_sub_venue_ids(user) -> frozenset[int]:
    """Ids of the sub-venues an operator works on (one query per user object, then remembered)."""
    cached = getattr(user, "_valley_sub_venue_ids", None)
    if cached is None:
        cached = frozenset(user.sub_venues.values_list("pk", flat=True)) if user.pk else frozenset()
        user._valley_sub_venue_ids = cached
    return cached


def may_work_on_sub_venue(user, sub_venue_id: int | None) -> bool:
    """Staff scoping of one record: True when `user` reaches the sub-venue (the system, user None, reaches all)."""
    if user is None or sees_every_sub_venue(user):
        return True
    return sub_venue_id is not None and sub_venue_id in operated_sub_venue_ids(user)


def in_scope(queryset: QuerySet, user, *, via: str = "sub_venue", also: Q | None = None) -> QuerySet:
    """The rows of `queryset` that `user` reaches as staff.

    `via` is the lookup from the queryset's model to its sub-venue (e.g. "sub_venue",
    "application__sub_venue"); `also` admits rows outside the user's sub-venues that they reach for
    another reason (their own entity's records). No query of its own beyond operated_sub_venue_ids.
    """
    if user is None or sees_every_sub_venue(user):
        return queryset
    condition = Q(**{f"{via}__in": operated_sub_venue_ids(user)})
    return queryset.filter(condition | also if also is not None else condition)
