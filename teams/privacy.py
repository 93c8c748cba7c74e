"""What teams holds about a person, for "download my data" and account deletion (registered with
valley.privacy in TeamsConfig.ready).

A person's entities are those they own (the applicant account that keeps the profile) and those listing them as
a member under their e-mail address. Of the other members of those entities the export gives the name, role and
whether they lead the team, never their e-mail or phone: those are the other members' own data. Records of an
entity the person only belongs to (residencies, achievements, documents) are the owner's and are left out,
except the documents the person uploaded themself.
"""

from django.db.models import Q

from teams.models import (
    Achievement,
    AchievementStageChange,
    Document,
    Entity,
    Member,
    Registration,
    Residency,
    ResidencyRequest,
    ServiceRequest,
    ServiceRequestMessage,
)


def _own_member(user) -> Q:
    return Q(email__iexact=user.email) if user.email else Q(pk__in=[])


def _entity_ids(user) -> tuple[set[int], set[int]]:
    owned = set(Entity.objects.filter(owner=user).values_list("pk", flat=True))
    member_of = set(Member.objects.filter(_own_member(user)).values_list("entity_id", flat=True)) - owned
    return owned, member_of


def _documents(user, owned: set[int]):
    return Document.objects.filter(Q(entity_id__in=owned) | Q(uploaded_by=user)).order_by("pk")


def export(user) -> dict[str, list[dict]]:
    owned, member_of = _entity_ids(user)
    entities = [
        {**row, "yours": "owner"}
        for row in Entity.objects.filter(pk__in=owned)
        .values(
            "id",
            "kind",
            "name_zh",
            "name_en",
            "summary",
            "contact_email",
            "institution__name_zh",
            "focus_area__name_zh",
            "created_at",
            "updated_at",
        )
        .order_by("pk")
    ] + [
        {**row, "yours": "member"}
        for row in Entity.objects.filter(pk__in=member_of).values("id", "kind", "name_zh", "name_en").order_by("pk")
    ]
    own_ids = set(
        Member.objects.filter(_own_member(user), entity_id__in=owned | member_of).values_list("pk", flat=True)
    )
    members = []
    for row in (
        Member.objects.filter(entity_id__in=owned | member_of)
        .values("id", "entity_id", "name", "role", "is_lead", "email", "phone")
        .order_by("entity_id", "pk")
    ):
        yourself = row["id"] in own_ids
        if not yourself:
            row.pop("email"), row.pop("phone")
        members.append({**row, "yourself": yourself})
    return {
        "entities": entities,
        "members": members,
        "residencies": list(
            Residency.objects.filter(entity_id__in=owned)
            .values("id", "entity_id", "sub_venue__code", "status", "selected_on", "entered_on", "ended_on")
            .order_by("pk")
        ),
        "registrations": list(
            Registration.objects.filter(entity_id__in=owned)
            .values(
                "id",
                "entity_id",
                "company_name",
                "uscc",
                "registered_on",
                "registered_capital",
                "paid_in_capital",
                "legal_representative",
                "verified_at",
            )
            .order_by("pk")
        ),
        "achievements": list(
            Achievement.objects.filter(entity_id__in=owned)
            .values("id", "entity_id", "title", "kind", "stage", "description", "created_at")
            .order_by("pk")
        ),
        "achievement_stage_changes": list(
            AchievementStageChange.objects.filter(achievement__entity_id__in=owned)
            .values("id", "achievement_id", "from_stage", "to_stage", "changed_on", "note")
            .order_by("pk")
        ),
        "residency_requests": list(
            ResidencyRequest.objects.filter(entity_id__in=owned)
            .values(
                "id",
                "entity_id",
                "sub_venue__code",
                "status",
                "reason",
                "needs",
                "needs_detail",
                "submitted_at",
                "decided_at",
                "decision_reason",
            )
            .order_by("pk")
        ),
        "service_requests": list(
            ServiceRequest.objects.filter(entity_id__in=owned)
            .values(
                "id",
                "entity_id",
                "line__code",
                "subject",
                "details",
                "preferred_contact",
                "state",
                "submitted_at",
                "due_on",
                "rejection_reason",
                "resolution",
                "resolved_at",
                "rating",
                "rating_comment",
                "rated_at",
                "closed_at",
            )
            .order_by("pk")
        ),
        # The conversation on the person's requests: what was written to them too, but not who at the line wrote it.
        "service_request_messages": [
            {**row, "from_you": row.pop("author_id") == user.pk}
            for row in ServiceRequestMessage.objects.filter(request__entity_id__in=owned)
            .values("id", "request_id", "from_staff", "body", "sent_at", "author_id")
            .order_by("pk")
        ],
        "documents": [
            {**row, "uploaded_by_you": row.pop("uploaded_by_id") == user.pk}
            for row in _documents(user, owned).values(
                "id", "entity_id", "title", "original_name", "content_type", "size", "uploaded_at", "uploaded_by_id"
            )
        ],
    }


def files(user) -> list:
    owned, _member_of = _entity_ids(user)
    return [(f"documents/{doc.pk}-{doc.original_name}", doc.file, doc.size) for doc in _documents(user, owned)]


def anonymise(user, email: str) -> dict[str, int]:
    """The person's member records lose their name, e-mail and phone; an entity they own that is reached at their
    address loses that contact address; their service requests lose the contact they gave. The entities and
    everything else stay (the grant's records need them)."""
    from valley.privacy.services import placeholder_name

    members = Member.objects.filter(email__iexact=email).update(name=placeholder_name(user.pk), email="", phone="")
    contacts = Entity.objects.filter(owner=user, contact_email__iexact=email).update(contact_email="")
    # How they asked to be reached on their service requests (a phone, a WeChat id): theirs, not the request's.
    reachable = ServiceRequest.objects.filter(applicant=user).exclude(preferred_contact="")
    reachable = reachable.update(preferred_contact="")
    return {"members": members, "contact_emails": contacts, "service_request_contacts": reachable}
