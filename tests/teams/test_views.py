"""Applicants' self-service pages: what they see, what they may change, and what others cannot reach."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from teams import services
from teams.models import Achievement, Entity, Member
from tests.factories import PDF_BYTES, AchievementFactory, MemberFactory, SubVenueFactory


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def confirmed(applicant):
    applicant.email_confirmed_at = timezone.now()
    applicant.save()
    return applicant


@pytest.fixture
def profile(confirmed, entity_factory, media_root):
    """An entity of `applicant` with one record of every kind."""
    entity = entity_factory(owner=confirmed, name_zh="太原钠电研究团队")
    MemberFactory(entity=entity, name="王建国", is_lead=True)
    services.achievement_create(entity=entity, by=confirmed, title="钠离子电池", kind="patent")
    services.document_upload(entity=entity, by=confirmed, title="计划书", upload=SimpleUploadedFile("a.pdf", PDF_BYTES))
    return entity


def object_urls(entity):
    """Every URL under one entity (method, url), as listed for the isolation tests."""
    member, achievement, document = entity.members.get(), entity.achievements.get(), entity.documents.get()
    return [
        ("get", reverse("teams:entity_detail", args=[entity.pk])),
        ("get", reverse("teams:entity_edit", args=[entity.pk])),
        ("post", reverse("teams:entity_edit", args=[entity.pk])),
        ("get", reverse("teams:member_create", args=[entity.pk])),
        ("post", reverse("teams:member_create", args=[entity.pk])),
        ("get", reverse("teams:member_edit", args=[entity.pk, member.pk])),
        ("post", reverse("teams:member_edit", args=[entity.pk, member.pk])),
        ("post", reverse("teams:member_delete", args=[entity.pk, member.pk])),
        ("get", reverse("teams:achievement_create", args=[entity.pk])),
        ("post", reverse("teams:achievement_create", args=[entity.pk])),
        ("get", reverse("teams:achievement_edit", args=[entity.pk, achievement.pk])),
        ("post", reverse("teams:achievement_edit", args=[entity.pk, achievement.pk])),
        ("get", reverse("teams:achievement_stage", args=[entity.pk, achievement.pk])),
        ("post", reverse("teams:achievement_stage", args=[entity.pk, achievement.pk])),
        ("get", reverse("teams:document_upload", args=[entity.pk])),
        ("post", reverse("teams:document_upload", args=[entity.pk])),
        ("post", reverse("teams:document_delete", args=[entity.pk, document.pk])),
        ("get", reverse("teams:document_download", args=[document.pk])),
    ]


WRITE_URL_COUNT = 16  # all but the detail page and the download


def test_the_owner_reaches_every_url(client, confirmed, profile):
    client.force_login(confirmed)
    for method, url in object_urls(profile):
        if method == "get":
            assert client.get(url).status_code == 200, url


def test_another_applicant_gets_404_on_every_url(client, profile, other_applicant):
    other_applicant.email_confirmed_at = timezone.now()
    other_applicant.save()
    client.force_login(other_applicant)
    for method, url in object_urls(profile):
        assert getattr(client, method)(url, {"name": "x"} if method == "post" else None).status_code == 404, url
    assert profile.members.count() == 1 and profile.documents.count() == 1


def test_an_auditor_reads_but_gets_404_on_every_change(client, profile, auditor):
    client.force_login(auditor)
    urls = object_urls(profile)
    readable = {reverse("teams:entity_detail", args=[profile.pk]), urls[-1][1]}
    assert len(urls) - len(readable) == WRITE_URL_COUNT
    for method, url in urls:
        expected = 200 if url in readable else 404
        assert getattr(client, method)(url).status_code == expected, url
    assert "Edit the profile" not in client.get(urls[0][1]).content.decode()


def test_an_operator_reaches_only_entities_resident_in_their_sub_venue(client, profile, role_user, residency_factory):
    operator = role_user("sub_venue_operator")
    client.force_login(operator)
    url = reverse("teams:entity_detail", args=[profile.pk])
    assert client.get(url).status_code == 404
    residency = residency_factory(entity=profile)
    operator.sub_venues.add(residency.sub_venue)
    client.force_login(operator)
    assert client.get(url).status_code == 200


def test_pages_need_a_login(client, profile):
    for method, url in object_urls(profile):
        response = getattr(client, method)(url)
        assert response.status_code in (302, 405) and (
            response.status_code == 405 or "/accounts/login/" in response["Location"]
        )


def test_the_list_shows_only_my_entities_with_their_residency(client, confirmed, entity_factory, residency_factory):
    mine = entity_factory(owner=confirmed, name_zh="我的团队", name_en="My Team")
    residency_factory(entity=mine, sub_venue=SubVenueFactory(name_en="Shanxi Innovation Valley·Taiyuan"))
    entity_factory(name_en="Someone Else's Team")
    client.force_login(confirmed)
    body = client.get(reverse("teams:entity_list")).content.decode()
    assert "My Team" in body and "Someone Else" not in body
    assert "Shanxi Innovation Valley·Taiyuan" in body and "entered" in body


def test_the_list_is_paginated(client, confirmed, entity_factory):
    entity_factory.create_batch(25, owner=confirmed)
    client.force_login(confirmed)
    first = client.get(reverse("teams:entity_list"))
    assert len(first.context["page"].object_list) == 20 and "Page 1 of 2" in first.content.decode()
    assert len(client.get(reverse("teams:entity_list") + "?page=2").context["page"].object_list) == 5
    assert client.get(reverse("teams:entity_list") + "?page=abc").status_code == 200


def test_a_profile_form_with_bad_input_says_what_to_fix(client, confirmed, institution_and_area):
    client.force_login(confirmed)
    response = client.post(reverse("teams:entity_create"), {"kind": "castle", "name_zh": "", "contact_email": "nope"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"kind", "name_zh", "name_en", "institution", "focus_area", "contact_email"} <= set(errors)
    assert not Entity.objects.exists()


@pytest.fixture
def institution_and_area(db):
    from tests.factories import FocusAreaFactory, InstitutionFactory

    return InstitutionFactory(), FocusAreaFactory()


def test_editing_the_profile(client, confirmed, profile, institution_and_area):
    client.force_login(confirmed)
    institution, area = institution_and_area
    response = client.post(
        reverse("teams:entity_edit", args=[profile.pk]),
        {
            "kind": "startup",
            "name_zh": "改名后的团队",
            "name_en": "Renamed",
            "institution": institution.pk,
            "focus_area": area.pk,
            "summary": "",
            "contact_email": "",
        },
    )
    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.name_zh, profile.kind) == ("改名后的团队", "startup")


def test_editing_and_removing_a_member(client, confirmed, profile):
    client.force_login(confirmed)
    member = profile.members.get()
    url = reverse("teams:member_edit", args=[profile.pk, member.pk])
    client.post(url, {"name": "王建国", "role": "首席科学家", "email": "wang@example.cn", "phone": ""})
    member.refresh_from_db()
    assert member.role == "首席科学家" and not member.is_lead
    client.post(reverse("teams:member_delete", args=[profile.pk, member.pk]))
    assert not Member.objects.exists()


def test_a_stage_change_through_the_form_is_dated_and_shown(client, confirmed, profile):
    client.force_login(confirmed)
    achievement = profile.achievements.get()
    url = reverse("teams:achievement_stage", args=[profile.pk, achievement.pk])
    response = client.post(url, {"to_stage": "pilot", "changed_on": timezone.localdate().isoformat(), "note": "中试线"})
    assert response.status_code == 302
    body = client.get(profile.get_absolute_url()).content.decode()
    assert "pilot-scale" in body and achievement.stage_changes.count() == 2


def test_a_wrong_stage_change_is_a_form_error_not_a_500(client, confirmed, profile):
    client.force_login(confirmed)
    achievement = profile.achievements.get()
    url = reverse("teams:achievement_stage", args=[profile.pk, achievement.pk])
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    for data, message in [
        ({"to_stage": "lab", "changed_on": timezone.localdate().isoformat()}, "already at this stage"),
        ({"to_stage": "pilot", "changed_on": tomorrow}, "cannot be in the future"),
        ({"to_stage": "pilot", "changed_on": "31/02/2025"}, "Enter a valid date"),
    ]:
        response = client.post(url, data)
        assert response.status_code == 200 and message in response.content.decode(), message
    assert Achievement.objects.get().stage == "lab"


def test_editing_an_achievement_does_not_change_its_stage(client, confirmed, profile):
    client.force_login(confirmed)
    achievement = profile.achievements.get()
    url = reverse("teams:achievement_edit", args=[profile.pk, achievement.pk])
    client.post(url, {"title": "钠离子电池正极", "kind": "software", "description": "", "stage": "transformed"})
    achievement.refresh_from_db()
    assert (achievement.title, achievement.kind, achievement.stage) == ("钠离子电池正极", "software", "lab")


def test_an_achievement_dated_in_the_future_is_refused(client, confirmed, profile):
    client.force_login(confirmed)
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    response = client.post(
        reverse("teams:achievement_create", args=[profile.pk]),
        {"title": "x", "kind": "patent", "stage": "lab", "stage_since": tomorrow},
    )
    assert "cannot be in the future" in response.content.decode()
    assert profile.achievements.count() == 1


def test_residency_decisions_are_not_offered_to_applicants(client, confirmed, profile):
    client.force_login(confirmed)
    body = client.get(profile.get_absolute_url()).content.decode()
    assert "Valley staff record residency decisions" in body
    assert client.get("/admin/teams/residency/add/").status_code == 302  # not staff: to the admin login


def test_the_achievement_factory_is_scoped_too(client, confirmed, entity_factory):
    achievement = AchievementFactory(entity=entity_factory())
    client.force_login(confirmed)
    mine = entity_factory(owner=confirmed)
    # Someone else's achievement under my entity's URL is still a 404.
    assert client.get(reverse("teams:achievement_edit", args=[mine.pk, achievement.pk])).status_code == 404


def test_the_pages_speak_chinese_by_default(client, confirmed, profile):
    client.force_login(confirmed)
    client.defaults.pop("HTTP_ACCEPT_LANGUAGE")
    body = client.get(profile.get_absolute_url()).content.decode()
    assert '<html lang="zh-Hans">' in body
    for text in ["成员", "成果", "文件", "入驻情况", "负责人", "实验室"]:
        assert text in body, text
    assert "我的创新主体" in client.get(reverse("teams:entity_list")).content.decode()
