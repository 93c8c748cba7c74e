"""Personal data: the privacy notice at sign-up, consents, "download my data", account deletion, the public notice.

Done when: the download holds every record of the person and none of anyone else's; deletion anonymises the
person and keeps the grant's figures and the audit chain valid."""

import datetime
import io
import json
import zipfile
from decimal import Decimal
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from funding import services as funding
from funding.models import Application, Disbursement
from teams.models import Document, Member
from tests.factories import PDF_BYTES, MemberFactory
from valley import audit
from valley.core import calendar, roles
from valley.models import Consent, DeletionRequest, OutboxMessage, PrivacyNotice, PrivacyPurpose, ServiceLine
from valley.privacy import services as privacy
from valley.privacy import tasks

PASSWORD = "Jinchuanggu-2026-Taiyuan!"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def signed_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def mails_to(address: str) -> list[dict]:
    return [m.kwargs for m in OutboxMessage.objects.order_by("pk") if address in m.kwargs.get("recipients", [])]


# ------------------------------------------------------------------ the notice at sign-up and consents


def _sign_up(client, **overrides):
    data = {"email": "new@example.cn", "password1": PASSWORD, "password2": PASSWORD, "accept_privacy": "on"}
    return client.post(reverse("signup"), {**data, **overrides}, HTTP_ACCEPT_LANGUAGE="en")


def test_the_sign_up_page_shows_the_notice_with_the_legal_basis_of_each_purpose(client, db):
    page = client.get(reverse("signup"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert reverse("privacy_notice") in page and 'name="accept_privacy"' in page
    assert "Public notice of grants" in page and "public notice and supervision in the public interest" in page
    assert "necessary for a statutory duty (finance and audit law)" in page


def test_signing_up_records_the_consent_with_the_notice_version_and_time(client, db):
    before = timezone.now()
    response = _sign_up(client)
    assert response.status_code == 302
    consent = Consent.objects.get(user__email="new@example.cn")
    assert consent.notice == privacy.notice_current() and consent.notice.version == 1
    assert before <= consent.at <= timezone.now()


def test_signing_up_without_accepting_the_notice_is_refused_with_a_field_message(client, db):
    response = _sign_up(client, accept_privacy="")
    assert response.status_code == 200
    assert response.context["form"].errors["accept_privacy"] == [
        "Read the privacy notice and tick this box to sign up."
    ]
    assert not get_user_model().objects.filter(email="new@example.cn").exists()


def test_a_newer_notice_is_announced_at_login_and_accepting_it_is_recorded(client, db, make_user):
    user = make_user(roles.APPLICANT, email="old@example.cn", password=PASSWORD)
    privacy.consent_record(user=user, notice=PrivacyNotice.objects.get(version=1))
    newer = PrivacyNotice.objects.create(
        version=2, effective_on=timezone.localdate(), text_zh="第二版", text_en="Second version"
    )
    PrivacyPurpose.objects.create(
        notice=newer, purpose_zh="账户", purpose_en="Accounts", data_zh="邮箱", data_en="e-mail", legal_basis="contract"
    )
    client.post(reverse("login"), {"username": "old@example.cn", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en")
    page = client.get(reverse("my_data"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Our privacy notice has changed." in page
    consent_page = client.get(reverse("privacy_consent"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Second version" in consent_page and "Accounts" in consent_page
    client.post(reverse("privacy_consent"), HTTP_ACCEPT_LANGUAGE="en")
    assert list(user.consents.order_by("notice__version").values_list("notice__version", flat=True)) == [1, 2]
    assert "Our privacy notice has changed." not in client.get(reverse("my_data")).content.decode()


def test_a_notice_someone_accepted_can_no_longer_be_edited_in_the_admin(db, make_user, rf):
    from django.contrib import admin

    notice = PrivacyNotice.objects.get(version=1)
    request = rf.get("/")
    request.user = get_user_model().objects.create_superuser(email="root@example.cn", password=PASSWORD)
    model_admin = admin.site._registry[PrivacyNotice]
    assert model_admin.has_change_permission(request, notice)
    privacy.consent_record(user=make_user(roles.APPLICANT), notice=notice)
    assert not model_admin.has_change_permission(request, notice)
    assert not model_admin.has_delete_permission(request, notice)


# ------------------------------------------------------------------ download my data


@pytest.fixture
def households(application_in, people, make_user, media_root, resident_entity):
    """Applicant A with a granted application, a team (A, colleague C, and D who has an account of their own) and a
    document; applicant B with a team and an application of their own, sharing nothing with A."""
    a = people["applicant"]
    grant = application_in("disbursement", amount=Decimal("500000.00"))
    team = grant.entity
    MemberFactory(entity=team, name="李海燕", email=a.email, phone="13900000001", is_lead=True)
    MemberFactory(entity=team, name="王同事", email="colleague-c@example.cn", phone="13900000003")
    d = make_user(roles.APPLICANT, email="member-d@example.cn")
    MemberFactory(entity=team, name="赵成员", email=d.email, phone="13900000004")
    Document.objects.create(
        entity=team,
        title="商业计划书",
        file=ContentFile(PDF_BYTES, name="plan.pdf"),
        original_name="plan.pdf",
        content_type="application/pdf",
        size=len(PDF_BYTES),
        uploaded_by=a,
    )
    b = make_user(roles.APPLICANT, email="applicant-b@example.cn")
    other_team = resident_entity(b)
    other_team.name_zh, other_team.contact_email = "乙方团队", "team-b@example.cn"
    other_team.save()
    MemberFactory(entity=other_team, name="钱乙", email=b.email, phone="13800000002")
    funding.application_create(
        entity=other_team, by=b, amount=Decimal("400000.00"), purpose="乙方用途", plan="乙方计划"
    )
    privacy.consent_record(user=a, notice=privacy.notice_current())
    privacy.consent_record(user=b, notice=privacy.notice_current())
    # Each asks the finance line for help; A's request gets an answer from the line's staff.
    from teams import service_requests

    line = ServiceLine.objects.create(code="finance", name_zh="金融服务", name_en="Finance", time_limit_working_days=5)
    asked = service_requests.service_request_submit(
        entity=team, line=line, by=a, subject="融资对接", details="希望对接天使投资。", preferred_contact="13900000001"
    )
    service_requests.service_request_submit(entity=other_team, line=line, by=b, subject="乙方融资", details="乙方详情")
    staff = make_user(roles.SERVICE_LINE_STAFF, email="finance-desk@example.cn")
    staff.service_lines.set([line])
    service_requests.service_request_accept(request=asked, by=staff, handler=staff)
    service_requests.service_request_message(request=asked, by=staff, body="请提供近三年财务报表。")
    return {"a": a, "b": b, "d": d, "grant": grant, "team": team, "other_team": other_team}


def download(user) -> tuple[dict, zipfile.ZipFile]:
    response = signed_in(user).post(reverse("my_data_download"))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    return json.loads(archive.read("data.json")), archive


def everything_in(archive: zipfile.ZipFile) -> str:
    return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())


def test_download_holds_every_record_of_the_person(households):
    a, grant, team = households["a"], households["grant"], households["team"]
    data, archive = download(a)
    assert [row["email"] for row in data["account"]] == [a.email]
    assert [row["notice_version"] for row in data["consents"]] == [1]
    assert [row["id"] for row in data["teams.entities"]] == [team.pk]
    assert sorted(row["name"] for row in data["teams.members"]) == ["李海燕", "王同事", "赵成员"]
    yourself = [row for row in data["teams.members"] if row["yourself"]]
    assert [(row["email"], row["phone"]) for row in yourself] == [(a.email, "13900000001")]
    assert [row["entity_id"] for row in data["teams.residencies"]] == [team.pk]
    assert [row["original_name"] for row in data["teams.documents"]] == ["plan.pdf"]
    assert [row["id"] for row in data["funding.applications"]] == [grant.pk]
    assert {row["to_state"] for row in data["funding.application_events"]} >= {"submitted", "disbursement"}
    assert [Decimal(row["amount"]) for row in data["funding.disbursements"]] == [
        d.amount for d in grant.disbursements.order_by("pk")
    ]
    assert any(row["action"] == "valley.privacy.consented" for row in data["audit_actions"])
    assert [row["subject"] for row in data["teams.service_requests"]] == ["融资对接"]
    assert [(row["body"], row["from_you"]) for row in data["teams.service_request_messages"]] == [
        ("请提供近三年财务报表。", False)
    ]
    # The same tables as CSV, and the document's file itself.
    names = set(archive.namelist())
    assert {"csv/account.csv", "csv/teams.members.csv", "csv/funding.applications.csv"} <= names
    [document] = Document.objects.filter(entity=team)
    assert archive.read(f"files/documents/{document.pk}-plan.pdf") == PDF_BYTES


def test_download_holds_none_of_anyone_elses_records(households):
    a, b = households["a"], households["b"]
    _data, archive = download(a)
    text = everything_in(archive)
    # B shares nothing with A: nothing of B's is in A's zip.
    for theirs in (b.email, "乙方团队", "team-b@example.cn", "钱乙", "13800000002", "乙方用途", "乙方融资"):
        assert theirs not in text
    # A's colleagues: their names, never their e-mail or phone. Staff who acted on the application: not named.
    for theirs in ("colleague-c@example.cn", "13900000003", "member-d@example.cn", "13900000004"):
        assert theirs not in text
    assert "finance@example.cn" not in text and "approver@example.cn" not in text
    assert "finance-desk@example.cn" not in text  # the service line's handler either
    _data, archive = download(b)
    text = everything_in(archive)
    for theirs in (a.email, households["team"].name_zh, "李海燕", "13900000001"):
        assert theirs not in text


def test_a_member_with_an_account_gets_the_team_and_their_own_record_but_not_the_owners_data(households):
    d, team, a = households["d"], households["team"], households["a"]
    data, archive = download(d)
    assert [(row["id"], row["yours"]) for row in data["teams.entities"]] == [(team.pk, "member")]
    [mine] = [row for row in data["teams.members"] if row["yourself"]]
    assert (mine["email"], mine["phone"]) == (d.email, "13900000004")
    assert data["funding.applications"] == [] and data["teams.documents"] == []
    text = everything_in(archive)
    for theirs in (a.email, "13900000001", "colleague-c@example.cn", "13900000003"):
        assert theirs not in text


def test_downloading_is_a_post_and_is_recorded_in_the_audit_log(households):
    a = households["a"]
    assert signed_in(a).get(reverse("my_data_download")).status_code == 405
    download(a)
    from valley.models import AuditEntry

    assert AuditEntry.objects.filter(action="valley.privacy.data_exported", actor=a).count() == 1


# ------------------------------------------------------------------ deletion


def test_asking_for_deletion_needs_the_password_and_sets_the_grace_period(households):
    a = households["a"]
    client = signed_in(a)
    response = client.post(reverse("account_delete"), {"password": "wrong", "confirm": "on"})
    assert response.context["form"].errors["password"] == ["That password is not right."]
    response = client.post(reverse("account_delete"), {"password": "pw-Valley-2026!"})
    assert response.context["form"].errors["confirm"] == ["Tick this box to confirm the deletion."]
    assert not DeletionRequest.objects.exists()
    response = client.post(reverse("account_delete"), {"password": "pw-Valley-2026!", "confirm": "on"})
    assert response.status_code == 302
    request = DeletionRequest.objects.get(user=a)
    assert request.due_on == calendar.add_working_days(timezone.localdate(), 20)
    [mail] = mails_to(a.email)[-1:]
    assert "cancel" in mail["body"] and reverse("account_delete") in mail["body"]
    page = client.get(reverse("account_delete")).content.decode()
    assert "Cancel the deletion" in page


def test_the_deletion_page_says_the_audit_log_and_grant_records_are_kept(households):
    page = signed_in(households["a"]).get(reverse("account_delete")).content.decode()
    assert "the audit log, which nobody can change" in page and "for 30 years as finance law requires" in page


def test_a_cancelled_request_is_never_carried_out(households):
    a = households["a"]
    request = privacy.deletion_request(user=a)
    signed_in(a).post(reverse("account_delete_cancel"))
    request.refresh_from_db()
    assert request.state == DeletionRequest.State.CANCELLED and request.cancelled_at is not None
    with mock.patch("django.utils.timezone.localdate", return_value=request.due_on + datetime.timedelta(days=1)):
        assert tasks.anonymise_due() == 0
    a.refresh_from_db()
    assert a.email == "applicant-a@example.cn" and a.is_active


def test_deletion_anonymises_the_person_after_the_grace_period_and_keeps_the_grant_and_the_audit_chain(households):
    a, grant = households["a"], households["grant"]
    figures = Application.objects.values("amount", "approved_amount", "disbursed_total", "state").get(pk=grant.pk)
    paid = list(Disbursement.objects.filter(application=grant).values_list("amount", "paid_on", "reference"))
    entries_before = audit.verify_chain().entries
    signed_in(a).get(reverse("my_data"))
    Client().post(reverse("login"), {"username": a.email, "password": "pw-Valley-2026!"})  # a login log row
    request = privacy.deletion_request(user=a)

    # During the grace period nothing happens.
    assert tasks.anonymise_due() == 0
    a.refresh_from_db()
    assert a.email == "applicant-a@example.cn"

    with mock.patch("django.utils.timezone.localdate", return_value=request.due_on):
        assert tasks.anonymise_due() == 1
        assert tasks.anonymise_due() == 0  # safe to run twice

    a.refresh_from_db()
    assert (a.first_name, a.last_name, a.email) == (f"已注销用户 #{a.pk}", "", f"deleted-{a.pk}@invalid")
    assert not a.is_active and not a.has_usable_password() and not a.groups.exists()
    from axes.models import AccessLog

    assert not AccessLog.objects.filter(username="applicant-a@example.cn").exists()
    login = Client().post(reverse("login"), {"username": "applicant-a@example.cn", "password": "pw-Valley-2026!"})
    assert login.status_code == 200 and not login.context["form"].is_valid()  # no such account any more
    mine = Member.objects.get(entity=households["team"], is_lead=True)
    assert (mine.name, mine.email, mine.phone) == (f"已注销用户 #{a.pk}", "", "")
    from teams.models import ServiceRequest

    assert list(
        ServiceRequest.objects.filter(entity=households["team"]).values_list("preferred_contact", flat=True)
    ) == [""]
    # Other people's records are untouched: the colleague, and B.
    assert Member.objects.filter(email="colleague-c@example.cn", phone="13900000003").exists()
    assert get_user_model().objects.get(pk=households["b"].pk).email == "applicant-b@example.cn"
    # The grant's figures and payments are kept, pointing at the anonymised account.
    assert (
        Application.objects.values("amount", "approved_amount", "disbursed_total", "state").get(pk=grant.pk) == figures
    )
    assert list(Disbursement.objects.filter(application=grant).values_list("amount", "paid_on", "reference")) == paid
    assert Application.objects.get(pk=grant.pk).entity.owner_id == a.pk
    # The audit log was appended to, never rewritten: the chain still verifies.
    check = audit.verify_chain()
    assert check.ok, check.problem
    assert check.entries > entries_before
    request.refresh_from_db()
    assert request.state == DeletionRequest.State.ANONYMISED
    assert "您的账户已注销" in [m["subject"] for m in mails_to("applicant-a@example.cn")]  # in their language


def test_an_open_request_cannot_be_made_twice(households):
    privacy.deletion_request(user=households["a"])
    with pytest.raises(privacy.PrivacyError):
        privacy.deletion_request(user=households["a"])


# ------------------------------------------------------------------ the public notice of grants


def test_the_public_notice_shows_only_the_fields_the_policy_names(application_in, settings, client):
    application = application_in("public_notice")
    page = client.get(reverse("funding:notices"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert application.entity.name_en in page and "Institution" in page
    assert application.entity.owner.email not in page
    settings.PRIVACY_PUBLIC_NOTICE_FIELDS = ["entity", "approved_amount"]
    page = client.get(reverse("funding:notices"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert application.entity.name_en in page and "¥500,000.00" in page
    assert "Institution" not in page and application.entity.institution.name_en not in page


def test_my_data_page_and_download_run_a_constant_number_of_queries(households, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    a = households["a"]
    client = signed_in(a)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("my_data"))
    assert "Download my data" in page.content.decode()
    with CaptureQueriesContext(connection) as first:
        client.post(reverse("my_data_download"))
    for _ in range(3):  # more records of the same kinds: the same queries
        MemberFactory(entity=households["team"])
        privacy.consent_record(
            user=a,
            notice=PrivacyNotice.objects.create(
                version=PrivacyNotice.objects.count() + 1,
                effective_on=timezone.localdate(),
                text_zh="新",
                text_en="New",
            ),
        )
    with django_assert_max_num_queries(12):
        client.get(reverse("my_data"))
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.post(reverse("my_data_download"))


def test_the_csv_files_do_not_carry_formulas(households):
    team = households["team"]
    team.summary = '=HYPERLINK("http://example.invalid")'
    team.save()
    data, archive = download(households["a"])
    assert data["teams.entities"][0]["summary"] == team.summary  # the JSON keeps the text as it is
    assert "'=HYPERLINK" in archive.read("csv/teams.entities.csv").decode("utf-8-sig")
