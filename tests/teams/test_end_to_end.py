"""The whole applicant journey through the web forms, with the confirmation mail sent by a real Celery worker."""

import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from teams.models import Achievement, Document, Entity, Member
from tests.conftest import files_under, wait_for
from tests.factories import PDF_BYTES, FocusAreaFactory, InstitutionFactory

PASSWORD = "Jinchuanggu-2026-Taiyuan!"


def _urls_of(entity: Entity) -> list[tuple[str, str]]:
    """Every URL of an entity's records, with the method a user would use."""
    member = entity.members.first()
    achievement = entity.achievements.first()
    document = entity.documents.first()
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


def test_a_new_applicant_signs_up_confirms_and_builds_a_startup_profile(
    client, celery_worker_process, mail_dir, media_root, make_user
):
    institution = InstitutionFactory(name_en="Shanxi University", name_zh="山西大学")
    area = FocusAreaFactory()

    # 1. Sign up with e-mail and password.
    response = client.post(
        reverse("signup"),
        {"email": "Founder@Example.cn", "password1": PASSWORD, "password2": PASSWORD, "accept_privacy": "on"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 302

    # 2. Not confirmed yet: creating a startup is refused with a clear message.
    response = client.get(reverse("teams:entity_create"), follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "Confirm your e-mail address first" in response.content.decode()

    # 3. The worker sends the mail; the link in it confirms the address.
    mail = wait_for(lambda: list(mail_dir.iterdir()), timeout=60, what="the confirmation mail")[0].read_text()
    assert "founder@example.cn" in mail
    link = re.search(r"https?://[^/\s]+(/accounts/confirm/[^\s]+/)", mail)
    assert link, mail
    response = client.get(link.group(1), follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "founder@example.cn is confirmed" in response.content.decode()

    # Log out and back in through the login form, with the address typed as they like.
    client.post(reverse("logout"))
    assert client.get(reverse("teams:entity_list")).status_code == 302
    response = client.post(reverse("login"), {"username": "FOUNDER@example.cn", "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:2000]

    # 4. Create a startup.
    response = client.post(
        reverse("teams:entity_create"),
        {
            "kind": Entity.Kind.STARTUP,
            "name_zh": "晋创碳材料科技有限公司",
            "name_en": "Jinchuang Carbon Materials Co., Ltd.",
            "institution": institution.pk,
            "focus_area": area.pk,
            "summary": "煤基碳纤维",
            "contact_email": "",
        },
    )
    entity = Entity.objects.get(name_en="Jinchuang Carbon Materials Co., Ltd.")
    assert response.status_code == 302 and response["Location"] == entity.get_absolute_url()
    assert entity.owner.email == "founder@example.cn" and entity.kind == Entity.Kind.STARTUP

    # 5. Two members, one of them the lead.
    for name, role, is_lead in [("王建国", "首席科学家", "on"), ("李海燕", "研发工程师", "")]:
        data = {"name": name, "role": role, "email": "", "phone": "0351-1234567"}
        if is_lead:
            data["is_lead"] = is_lead
        assert client.post(reverse("teams:member_create", args=[entity.pk]), data).status_code == 302

    # 6. An achievement.
    response = client.post(
        reverse("teams:achievement_create", args=[entity.pk]),
        {
            "title": "煤基碳纤维制备方法",
            "kind": Achievement.Kind.PATENT,
            "stage": Achievement.Stage.PILOT,
            "description": "",
        },
    )
    assert response.status_code == 302

    # 7. A PDF.
    upload = SimpleUploadedFile("营业执照.pdf", PDF_BYTES, content_type="application/pdf")
    response = client.post(reverse("teams:document_upload", args=[entity.pk]), {"title": "营业执照", "file": upload})
    assert response.status_code == 302
    stored = files_under(media_root)
    assert len(stored) == 1 and not next(iter(stored)).endswith("营业执照.pdf")

    # 8. They see it all.
    body = client.get(entity.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for text in ["晋创碳材料科技有限公司", "王建国", "李海燕", "煤基碳纤维制备方法", "pilot-scale", "营业执照"]:
        assert text in body
    assert Member.objects.get(entity=entity, is_lead=True).name == "王建国"
    assert client.get(reverse("teams:entity_list")).content.decode().count(entity.get_absolute_url()) == 1
    document = Document.objects.get(entity=entity)
    download = client.get(reverse("teams:document_download", args=[document.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF_BYTES

    # 9. A second applicant reaches none of it.
    snapshot = (Member.objects.count(), Achievement.objects.count(), Document.objects.count())
    intruder = make_user("applicant", email="intruder@example.cn")
    intruder.email_confirmed_at = intruder.date_joined
    intruder.save()
    client.force_login(intruder)
    urls = _urls_of(entity)
    assert len(urls) == 18
    for method, url in urls:
        response = getattr(client, method)(url, {"name": "x", "title": "x"} if method == "post" else None)
        assert response.status_code == 404, (method, url, response.status_code)
    assert (Member.objects.count(), Achievement.objects.count(), Document.objects.count()) == snapshot
    assert entity.get_absolute_url() not in client.get(reverse("teams:entity_list")).content.decode()
