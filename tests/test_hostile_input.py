"""Hostile input: markup in every applicant text field, NUL bytes, hostile uploads and hostile URL parameters.

Each is answered with an escaped page or a clear 4xx message, never a 500, and nothing lands outside
MEDIA_ROOT.
"""

import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.html import escape

from funding.models import Application
from teams.models import Document
from tests.conftest import files_under
from tests.factories import PDF_BYTES, MemberFactory
from valley.exports import engine as csv_export

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


@pytest.fixture
def confirmed(applicant):
    applicant.email_confirmed_at = timezone.now()
    applicant.save()
    return applicant


@pytest.fixture
def team(client, confirmed, resident_entity, media_root):
    client.force_login(confirmed)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    entity = resident_entity(confirmed)
    MemberFactory(entity=entity, name="王建国", is_lead=True)
    return entity


def _entity_data(entity):
    return {
        "kind": entity.kind,
        "name_zh": entity.name_zh,
        "name_en": entity.name_en,
        "institution": entity.institution_id,
        "focus_area": entity.focus_area_id,
        "summary": entity.summary,
        "contact_email": entity.contact_email,
    }


def _post_form(client, entity, form, field, value):
    """Submit `value` in `field` of the applicant-facing `form`; return (response, URL of the page that shows it)."""
    detail = reverse("teams:entity_detail", args=[entity.pk])
    if form == "entity":
        data = {**_entity_data(entity), field: value}
        return client.post(reverse("teams:entity_edit", args=[entity.pk]), data), detail
    if form == "member":
        data = {"name": "李四", "role": "工程师", "email": "", "phone": "", field: value}
        return client.post(reverse("teams:member_create", args=[entity.pk]), data), detail
    if form == "achievement":
        data = {"title": "钠离子电池", "kind": "patent", "stage": "lab", "description": "", field: value}
        response = client.post(reverse("teams:achievement_create", args=[entity.pk]), data)
        achievement = entity.achievements.first()
        # The title shows on the entity's page; the description only in the edit form (inside a textarea).
        shown_on = (
            detail
            if field == "title" or not achievement
            else (reverse("teams:achievement_edit", args=[entity.pk, achievement.pk]))
        )
        return response, shown_on
    if form == "document":
        upload = SimpleUploadedFile("plan.pdf", PDF_BYTES, content_type="application/pdf")
        return client.post(reverse("teams:document_upload", args=[entity.pk]), {"title": value, "file": upload}), detail
    if form == "application":
        data = {"entity": entity.pk, "amount": "500,000", "purpose": "中试线", "plan": "建设中试线", field: value}
        response = client.post(reverse("funding:new"), data)
        application = Application.objects.filter(entity=entity).first()
        return response, reverse("funding:detail", args=[application.pk]) if application else None
    raise AssertionError(form)


TEXT_FIELDS = [
    ("entity", "name_zh"),
    ("entity", "name_en"),
    ("entity", "summary"),
    ("member", "name"),
    ("member", "role"),
    ("member", "phone"),
    ("achievement", "title"),
    ("achievement", "description"),
    ("document", "title"),
    ("application", "purpose"),
    ("application", "plan"),
]


@pytest.mark.parametrize("payload", [SCRIPT, IMG], ids=["script", "img"])
@pytest.mark.parametrize(("form", "field"), TEXT_FIELDS, ids=[f"{f}.{n}" for f, n in TEXT_FIELDS])
def test_markup_in_a_text_field_is_shown_escaped(client, team, budget, form, field, payload):
    value = f"测试{payload}"[: 20 if field == "phone" else None]  # a phone number holds at most 20 characters
    response, shown_on = _post_form(client, team, form, field, value)
    assert response.status_code == 302, response.content.decode()[:2000]
    page = client.get(shown_on).content.decode()
    assert escape(value) in page
    assert value not in page and "<img src=x" not in page and "<script>alert" not in page


@pytest.mark.parametrize("payload", [SCRIPT, IMG], ids=["script", "img"])
def test_markup_in_a_workflow_comment_is_shown_escaped_in_the_timeline(client, team, budget, payload):
    client.post(reverse("funding:new"), {"entity": team.pk, "amount": "500000", "purpose": "p", "plan": "p"})
    application = Application.objects.get(entity=team)
    url = reverse("funding:transition", args=[application.pk, "submit"])
    assert client.post(url, {"comment": f"请审核{payload}"}).status_code == 302
    page = client.get(reverse("funding:detail", args=[application.pk])).content.decode()
    assert escape(f"请审核{payload}") in page and payload not in page


@pytest.mark.parametrize(("form", "field"), TEXT_FIELDS, ids=[f"{f}.{n}" for f, n in TEXT_FIELDS])
def test_a_nul_character_in_a_text_field_is_a_form_error_not_a_500(client, team, budget, media_root, form, field):
    documents_before = Document.objects.count()
    response, _shown_on = _post_form(client, team, form, field, "中试\x00线")
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()
    assert Document.objects.count() == documents_before and not Application.objects.exists()


def test_a_nul_character_in_an_api_write_is_a_400(client, team, budget):
    response = client.post(
        "/api/applications/",
        {"entity": team.pk, "amount": "500000", "purpose": "中试\x00线", "plan": "x"},
        content_type="application/json",
    )
    assert response.status_code == 400 and "purpose" in response.json()
    assert not Application.objects.exists()


# ------------------------------------------------------------------------------ uploads


def _upload(client, url, name, content, content_type="application/pdf"):
    return client.post(url, {"title": "材料", "file": SimpleUploadedFile(name, content, content_type=content_type)})


def _only_under_media(tmp_path: Path, media_root: Path) -> set[str]:
    """Every file the test folder holds must be inside MEDIA_ROOT: nothing escaped through a file name."""
    outside = {str(p) for p in tmp_path.rglob("*") if p.is_file() and media_root not in p.parents}
    assert outside == set()
    return files_under(media_root)


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "..\\..\\x.pdf", "/etc/cron.d/x.pdf", "a\x00.pdf", "x" * 296 + ".pdf", "报告 ../ .pdf"],
    ids=["dotdot", "backslash", "absolute", "nul", "300-chars", "mixed"],
)
@pytest.mark.parametrize("door", ["teams", "funding"])
def test_hostile_file_names_are_stored_under_a_generated_name(client, team, budget, media_root, tmp_path, name, door):
    if door == "teams":
        url = reverse("teams:document_upload", args=[team.pk])
    else:
        client.post(reverse("funding:new"), {"entity": team.pk, "amount": "500000", "purpose": "p", "plan": "p"})
        url = reverse("funding:attach_document", args=[Application.objects.get(entity=team).pk])
    response = _upload(client, url, name, PDF_BYTES)
    assert response.status_code in (200, 302), response.content.decode()[:1000]
    stored = _only_under_media(tmp_path, media_root)
    document = Document.objects.filter(entity=team).first()
    if response.status_code == 302:
        assert document is not None and len(stored) == 1
        (path,) = stored
        assert path.startswith("documents/") and path.endswith(".pdf") and ".." not in path and "\\" not in path
        assert len(document.original_name) <= 255 and "\x00" not in document.original_name
    else:  # refused with a message, nothing stored
        assert document is None and stored == set()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "not a PDF or an image"),
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200, "really a"),
        (b"", "empty"),
        (PDF_BYTES + b"%" * 5000, "files may be at most"),
    ],
    ids=["html-named-pdf", "exe-named-pdf", "empty", "over-the-limit"],
)
def test_a_disguised_empty_or_oversized_file_is_refused_with_a_message(
    client, team, media_root, tmp_path, settings, content, message
):
    settings.DOCUMENT_MAX_BYTES = 4096
    response = _upload(client, reverse("teams:document_upload", args=[team.pk]), "report.pdf", content)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert _only_under_media(tmp_path, media_root) == set() and not Document.objects.exists()


# ------------------------------------------------------------------------------ URL parameters

HOSTILE_PARAMETERS = [
    "page=-1",
    "page=abc",
    "page=99999999",
    "page_size=100000000",
    "ordering=nonexistent",
    "o=abc",
    "id=abc",
    "sub_venue=abc",
    "entity=abc",
    "sub_venue=1&sub_venue=x",
    "state=nonexistent&state=submitted",
    "created_at_after=2026-13-45",
    "created_at_before=abc",
    "year=99999999999999999999",
    "q=" + "x" * 10_000,
    "state=" + "y" * 10_000,
    "q=%3Cscript%3Ealert(1)%3C/script%3E",
    "e=1",
]


def _url_names(resolver, prefix=""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _url_names(pattern, f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield prefix + pattern.name


def _parameterless_urls() -> list[str]:
    urls = {reverse("export_download", args=[name]) for name in csv_export.catalogue()}
    for name in set(_url_names(get_resolver())):
        try:
            urls.add(reverse(name))
        except Exception:  # noqa: S112 (needs arguments: not a list page)
            continue
    return sorted(url for url in urls if "logout" not in url and "/i18n/" not in url)


@pytest.mark.django_db
def test_hostile_url_parameters_on_every_list_export_and_api_page_never_give_a_500(settings):
    """Every page, export and API list without path arguments, as staff and as an applicant, with each
    hostile parameter: a page, a 4xx or a redirect, never a 500 (~2,000 requests on the demo data)."""
    call_command("seed_demo", verbosity=0, allow_production=True)
    users = get_user_model().objects
    failures = []
    for who, only in [("staff", None), ("applicant", ("/teams/", "/funding/", "/api/", "/exports/", "/tolerance/"))]:
        client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(users.get(email=f"{who}@demo.valley.example.cn"))
        for url in _parameterless_urls():
            if only and not url.startswith(only):
                continue
            for parameters in HOSTILE_PARAMETERS:
                status = client.get(f"{url}?{parameters}").status_code
                if status >= 500:
                    failures.append(f"{who} {url}?{parameters[:40]} -> {status}")
    assert failures == []


@pytest.mark.parametrize(
    "url",
    ["/teams/", "/funding/queues/", "/exports/applications.csv", "/exports/audit-log.csv", "/admin/teams/entity/"],
)
@pytest.mark.parametrize("parameters", ["state=%00", "q=a%00b", "%00=1", "sub_venue=1&sub_venue=%00"])
def test_a_nul_byte_in_a_url_parameter_is_a_400_saying_so(client, provincial_staff, url, parameters):
    client.force_login(provincial_staff)
    response = client.get(f"{url}?{parameters}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "contains a NUL character (%00)" in response.content.decode()


def test_an_oversized_or_overfull_form_is_a_400_saying_why(client, team, budget):
    too_big = client.post(reverse("funding:new"), {"entity": team.pk, "amount": "500000", "plan": "x" * 3_000_000})
    too_many = client.post(reverse("funding:new"), {f"field{i}": "x" for i in range(1500)})
    for response in (too_big, too_many):
        assert response.status_code == 400
        assert "too large (a form may send at most 2 MB besides its files)" in response.content.decode()
    assert not Application.objects.exists()


def test_an_oversized_api_body_is_a_400(client, team, budget):
    body = '{"purpose": "' + "x" * 3_000_000 + '"}'
    assert client.post("/api/applications/", body, content_type="application/json").status_code == 400


def test_a_nul_byte_in_an_api_parameter_is_a_400_in_json(client, provincial_staff):
    client.force_login(provincial_staff)
    response = client.get("/api/applications/?state=%00", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert response.json()["detail"] == "网址中含有空字符（%00），任何参数都不能包含它。请删除后重试。"


def test_an_admin_add_form_ignores_a_prefilled_id_that_is_not_a_number(client, provincial_staff, resident_entity):
    client.force_login(provincial_staff)
    entity = resident_entity()
    assert client.get("/admin/teams/residency/add/?entity=abc").status_code == 200
    page = client.get(f"/admin/teams/residency/add/?entity={entity.pk}").content.decode()
    assert f'<option value="{entity.pk}" selected>' in page  # a valid id still prefills the field


def test_the_admin_sub_venue_filter_with_a_bad_id_shows_an_empty_list(client, provincial_staff, resident_entity):
    client.force_login(provincial_staff)
    resident_entity()
    response = client.get("/admin/teams/entity/?sub_venue=abc", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response.context["cl"].result_count == 0


# ------------------------------------------------------------------------------ CSV export of hostile strings

FORMULA_LIKE = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    " =1+1",
    "＝1+1",  # full-width, as a Chinese input method types them
    "＋1+1",
    "－1+1",
    "＠SUM(1,1)",
    '"=1+1"',
    '=HYPERLINK("http://x.example","点我")',
    SCRIPT,
]


@pytest.mark.django_db(transaction=True)  # on PostgreSQL the export streams from COPY on its own connection
def test_formula_like_names_stay_text_when_a_spreadsheet_opens_the_export(client, auditor, entity_factory, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        if os.environ.get("VALLEY_REQUIRE_SERVICES") == "1":
            pytest.fail("LibreOffice is required in CI (apt-get install libreoffice-calc-nogui)")
        pytest.skip("needs LibreOffice (apt-get install libreoffice-calc-nogui)")
    entities = [entity_factory(name_zh=value, name_en=f"row {i}") for i, value in enumerate(FORMULA_LIKE)]
    client.force_login(auditor)
    response = client.get(reverse("export_download", args=["entities"]), {"header": "machine"})
    assert response.status_code == 200
    source = tmp_path / "entities.csv"
    source.write_bytes(b"".join(response.streaming_content))
    with open(source, encoding="utf-8-sig", newline="") as f:
        by_name_en = {row["name_en"]: row["name_zh"] for row in csv.DictReader(f)}
    for i, value in enumerate(FORMULA_LIKE):  # dangerous starts get a leading apostrophe, the rest stay as typed
        assert by_name_en[f"row {i}"] in (value, "'" + value)
    subprocess.run(
        [soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo-profile", "--infilter=CSV:44,34,76,1"]
        + ["--convert-to", "fods", "--outdir", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    sheet = (tmp_path / "entities.fods").read_text(encoding="utf-8")
    assert "table:formula" not in sheet  # not one cell became a formula
    assert len(entities) == len(FORMULA_LIKE)
