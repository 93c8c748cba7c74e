"""Every page of the teams issue runs the same number of queries with 10 and with 1,000 entities."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from teams import services
from teams.models import Achievement, AchievementStageChange, Entity, Member, Registration, Residency
from tests.factories import PDF_BYTES, FocusAreaFactory, InstitutionFactory, SubVenueFactory, valid_uscc


def grow(count: int, *, owner, venue, start: int = 0) -> None:
    """`count` more entities owned by `owner`, each resident in `venue` with a member, an achievement
    (with its history) and, for every other one, a registration: bulk-created to keep the test fast."""
    institution, area = InstitutionFactory(), FocusAreaFactory()
    entities = Entity.objects.bulk_create(
        Entity(
            kind=Entity.Kind.STARTUP if n % 2 else Entity.Kind.RESEARCH_TEAM,
            name_zh=f"批量团队{n:05d}",
            name_en=f"Bulk Team {n:05d}",
            institution=institution,
            focus_area=area,
            owner=owner,
        )
        for n in range(start, start + count)
    )
    day = datetime.date(2024, 1, 10)
    Residency.objects.bulk_create(
        Residency(entity=e, sub_venue=venue, status="entered", selected_on=day, entered_on=day) for e in entities
    )
    Member.objects.bulk_create(Member(entity=e, name=f"成员{e.pk}", is_lead=True) for e in entities)
    achievements = Achievement.objects.bulk_create(
        Achievement(entity=e, title=f"成果{e.pk}", kind="patent", stage="transformed") for e in entities
    )
    AchievementStageChange.objects.bulk_create(
        AchievementStageChange(achievement=a, to_stage="transformed", changed_on=day) for a in achievements
    )
    Registration.objects.bulk_create(
        Registration(
            entity=e,
            company_name=e.name_zh,
            uscc=valid_uscc(f"91140105MA{e.pk:07d}"),
            registered_on=day,
            registered_capital=Decimal("1000000.00"),
            paid_in_capital=Decimal("100000.00"),
            legal_representative="王建国",
        )
        for e in entities
        if e.kind == Entity.Kind.STARTUP
    )


def _measure(client, urls, django_assert_max_num_queries, budget=None):
    counts = {}
    for method, url, data in urls:
        limit = budget[url] if budget else 60
        with django_assert_max_num_queries(limit) as captured:
            response = getattr(client, method)(url, data) if data is not None else getattr(client, method)(url)
        assert response.status_code in (200, 302), (url, response.status_code)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        counts[url] = len(captured.captured_queries)
    return counts


@pytest.fixture
def venue(db):
    return SubVenueFactory(code="taiyuan")


def test_applicant_pages(client, applicant, venue, media_root, django_assert_max_num_queries):
    applicant.email_confirmed_at = timezone.now()
    applicant.save()
    grow(10, owner=applicant, venue=venue)
    entity = Entity.objects.order_by("pk").first()
    member, achievement = entity.members.get(), entity.achievements.get()
    document = services.document_upload(
        entity=entity, by=applicant, title="计划书", upload=SimpleUploadedFile("a.pdf", PDF_BYTES)
    )
    pk = entity.pk
    urls = [
        ("get", reverse("home"), None),
        ("get", reverse("teams:entity_list"), None),
        ("get", reverse("teams:entity_list") + "?page=2", None),
        ("get", reverse("teams:entity_create"), None),
        ("get", reverse("teams:entity_detail", args=[pk]), None),
        ("get", reverse("teams:entity_edit", args=[pk]), None),
        ("get", reverse("teams:member_create", args=[pk]), None),
        ("get", reverse("teams:member_edit", args=[pk, member.pk]), None),
        ("post", reverse("teams:member_edit", args=[pk, member.pk]), {"name": "王建国", "is_lead": "on"}),
        ("get", reverse("teams:achievement_create", args=[pk]), None),
        ("get", reverse("teams:achievement_edit", args=[pk, achievement.pk]), None),
        ("get", reverse("teams:achievement_stage", args=[pk, achievement.pk]), None),
        ("post", reverse("teams:achievement_stage", args=[pk, achievement.pk]), {"to_stage": "lab"}),  # an error
        ("get", reverse("teams:document_upload", args=[pk]), None),
        ("get", reverse("teams:document_download", args=[document.pk]), None),
    ]
    client.force_login(applicant)
    _measure(client, urls, django_assert_max_num_queries)  # warm-up: caches and first-time saves
    small = _measure(client, urls, django_assert_max_num_queries)
    grow(990, owner=applicant, venue=venue, start=10)
    assert Entity.objects.count() == 1000
    large = _measure(client, urls, django_assert_max_num_queries, budget=small)
    assert large == small


def test_anonymous_pages(client, db, django_assert_max_num_queries):
    venue = SubVenueFactory()
    owner = None
    grow(10, owner=owner, venue=venue)
    urls = [("get", reverse("home"), None), ("get", reverse("signup"), None), ("get", reverse("login"), None)]
    _measure(client, urls, django_assert_max_num_queries)  # warm-up: caches and first-time saves
    small = _measure(client, urls, django_assert_max_num_queries)
    grow(990, owner=owner, venue=venue, start=10)
    assert _measure(client, urls, django_assert_max_num_queries, budget=small) == small


@pytest.mark.parametrize("role", ["provincial_staff", "sub_venue_operator"])
def test_staff_admin_pages(client, role_user, venue, django_assert_max_num_queries, role):
    user = role_user(role)
    user.sub_venues.add(venue)
    grow(10, owner=None, venue=venue)
    entity = Entity.objects.order_by("pk").first()
    achievement = entity.achievements.get()
    residency = entity.residencies.get()
    urls = [
        ("get", reverse("admin:teams_entity_changelist"), None),
        ("get", reverse("admin:teams_entity_changelist") + "?residency=entered&achievement_stage=transformed", None),
        ("get", reverse("admin:teams_entity_changelist") + f"?sub_venue={venue.pk}&q=Bulk", None),
        ("get", reverse("admin:teams_entity_change", args=[entity.pk]), None),
        ("get", reverse("admin:teams_residency_changelist"), None),
        ("get", reverse("admin:teams_residency_change", args=[residency.pk]), None),
        ("get", reverse("admin:teams_achievement_changelist"), None),
        ("get", reverse("admin:teams_achievement_change", args=[achievement.pk]), None),
        ("get", reverse("admin:teams_registration_changelist"), None),
        ("get", reverse("admin:teams_document_changelist"), None),
        (
            "get",
            reverse("admin:autocomplete") + "?term=Bulk&app_label=teams&model_name=achievement&field_name=entity",
            None,
        ),
    ]
    client.force_login(user)
    _measure(client, urls, django_assert_max_num_queries)  # warm-up: caches and first-time saves
    small = _measure(client, urls, django_assert_max_num_queries)
    grow(990, owner=None, venue=venue, start=10)
    large = _measure(client, urls, django_assert_max_num_queries, budget=small)
    assert large == small
