"""Issue 18, item 3: every audited action records where it came from (address, user agent) and its outcome.

Each action is done through the portal's own pages, by a browser with its own address and User-Agent; every
entry the request wrote must carry them, and the outcome. The address is REMOTE_ADDR unless the peer is a
trusted proxy (TRUSTED_PROXIES), and the three are covered by the entry's hash."""

import ipaddress
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, RequestFactory
from django.urls import reverse

from funding.demo import file_report
from funding.models import Application
from tests.auth_helpers import reauthenticate
from tests.factories import PDF_BYTES
from valley import audit
from valley.audit import chain
from valley.core import roles
from valley.models import USER_AGENT_MAX_LENGTH, AuditEntry, User
from valley.web.addresses import client_address

S = Application.State
PASSWORD = "pw-Valley-2026!"
pytestmark = pytest.mark.django_db


def browser(address: str, agent: str) -> Client:
    return Client(REMOTE_ADDR=address, HTTP_USER_AGENT=agent)


def last_id() -> int:
    audit.seal()
    return (
        AuditEntry.objects.filter(id__lte=AuditEntry.PENDING_FROM).order_by("-id").values_list("id", flat=True).first()
        or 0
    )


def written_since(mark: int) -> list[AuditEntry]:
    audit.seal()
    return list(AuditEntry.objects.filter(id__gt=mark, id__lte=AuditEntry.PENDING_FROM).order_by("id"))


def assert_recorded(mark, action, *, address, agent, outcome="success"):
    """The request wrote `action`, and every entry it wrote carries the browser's address and agent."""
    entries = written_since(mark)
    assert action in [entry.action for entry in entries], [entry.action for entry in entries]
    for entry in entries:
        assert (entry.source_address, entry.user_agent) == (address, agent), entry
        assert entry.hash_format == chain.HASH_FORMAT
    (entry,) = [entry for entry in entries if entry.action == action][:1]
    assert entry.outcome == outcome, entry
    return entry


# ------------------------------------------------------------------ the list of audited actions


def test_logins_logouts_and_failed_logins_of_applicants_and_staff(applicant, provincial_staff):
    for number, user in enumerate([applicant, provincial_staff], start=1):
        address, agent = f"203.0.113.{number}", f"Mozilla/5.0 (test {user.email})"
        client = browser(address, agent)

        mark = last_id()
        client.post(reverse("login"), {"username": user.email, "password": "wrong"})
        failed = assert_recorded(mark, "auth.login_failed", address=address, agent=agent, outcome="failed")
        assert failed.after == {"username": user.email} and failed.actor_id is None

        mark = last_id()
        assert client.post(reverse("login"), {"username": user.email, "password": PASSWORD}).status_code == 302
        login = assert_recorded(mark, "auth.login", address=address, agent=agent)
        assert login.actor_id == user.pk

        mark = last_id()
        client.post(reverse("logout"))
        logout = assert_recorded(mark, "auth.logout", address=address, agent=agent)
        assert logout.actor_id == user.pk


def test_a_login_while_locked_out_is_recorded_as_refused(applicant, settings):
    settings.AXES_FAILURE_LIMIT = 2
    address, agent = "198.51.100.20", "curl/8.5"
    client = browser(address, agent)
    for _attempt in range(2):
        client.post(reverse("login"), {"username": applicant.email, "password": "wrong"})
    mark = last_id()
    response = client.post(reverse("login"), {"username": applicant.email, "password": PASSWORD})
    assert response.status_code == 429
    assert_recorded(mark, "auth.login_failed", address=address, agent=agent, outcome="refused")


def test_an_own_profile_change_the_password(applicant):
    address, agent = "203.0.113.30", "Firefox/133"
    client = browser(address, agent)
    client.force_login(applicant)
    mark = last_id()
    new = "Another-pw-2026!x"
    data = {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    assert client.post(reverse("password_change"), data).status_code == 302
    entry = assert_recorded(mark, "accounts.user.password_changed", address=address, agent=agent)
    assert entry.actor_id == applicant.pk and new not in str(entry.after)


def test_a_role_change_in_the_users_admin(applicant, sub_venue):
    superuser = User.objects.create_superuser(email="root@example.cn", password=PASSWORD)
    address, agent = "203.0.113.40", "Edge/131"
    client = browser(address, agent)
    client.force_login(superuser)
    reauthenticate(client)
    operator_group = Group.objects.get(name=roles.SUB_VENUE_OPERATOR)
    url = reverse("admin:valley_user_change", args=[applicant.pk])
    data = {
        "email": applicant.email,
        "first_name": "新",
        "last_name": "名",
        "is_active": "on",
        "groups": [*applicant.groups.values_list("pk", flat=True), operator_group.pk],
        "sub_venues": [sub_venue.pk],
        "date_joined_0": "2026-12-01",
        "date_joined_1": "09:00:00",
    }
    mark = last_id()
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = assert_recorded(mark, "accounts.user.roles_changed", address=address, agent=agent)
    assert entry.actor_id == superuser.pk and entry.object_id == str(applicant.pk)
    assert entry.before["groups"] == [roles.APPLICANT]
    assert entry.after["groups"] == sorted([roles.APPLICANT, roles.SUB_VENUE_OPERATOR])
    assert (entry.before["sub_venues"], entry.after["sub_venues"]) == ([], [sub_venue.pk])
    assert (entry.before["first_name"], entry.after["first_name"]) == ("", "新")


def test_a_group_permission_change_in_the_admin(db):
    superuser = User.objects.create_superuser(email="root@example.cn", password=PASSWORD)
    address, agent = "203.0.113.41", "Edge/131"
    client = browser(address, agent)
    client.force_login(superuser)
    group = Group.objects.get(name=roles.AUDITOR)
    kept = list(group.permissions.values_list("pk", flat=True))
    from django.contrib.auth.models import Permission

    added = Permission.objects.get(codename="change_user")
    mark = last_id()
    url = reverse("admin:auth_group_change", args=[group.pk])
    response = client.post(url, {"name": group.name, "permissions": [*kept, added.pk]})
    assert response.status_code == 302
    entry = assert_recorded(mark, "accounts.group.roles_changed", address=address, agent=agent)
    assert "valley.change_user" in entry.after["permissions"]
    assert "valley.change_user" not in entry.before["permissions"]


def test_an_export(provincial_staff):
    address, agent = "203.0.113.50", "Safari/18"
    client = browser(address, agent)
    client.force_login(provincial_staff)
    mark = last_id()
    response = client.get(reverse("export_download", args=["applications"]))
    assert response.status_code == 200
    b"".join(response.streaming_content)
    entry = assert_recorded(mark, "export.csv", address=address, agent=agent)
    assert entry.object_id == "applications"


def test_an_export_without_the_role_is_refused_and_recorded(applicant):
    address, agent = "203.0.113.51", "Safari/18"
    client = browser(address, agent)
    client.force_login(applicant)
    mark = last_id()
    assert client.get(reverse("export_download", args=["applications"])).status_code == 404
    entry = assert_recorded(mark, "export.csv", address=address, agent=agent, outcome="refused")
    assert entry.actor_id == applicant.pk


def test_a_document_download(applicant, entity_factory, media_root):
    address, agent = "203.0.113.60", "Chrome/131"
    client = browser(address, agent)
    client.force_login(applicant)
    entity = entity_factory(owner=applicant)
    upload = SimpleUploadedFile("执照.pdf", PDF_BYTES, content_type="application/pdf")
    client.post(reverse("teams:document_upload", args=[entity.pk]), {"title": "营业执照", "file": upload})
    document = entity.documents.get()
    mark = last_id()
    response = client.get(reverse("teams:document_download", args=[document.pk]))
    assert b"".join(response.streaming_content) == PDF_BYTES
    entry = assert_recorded(mark, "teams.document.downloaded", address=address, agent=agent)
    assert entry.object_id == str(document.pk) and entry.after["file_name"] == document.original_name


def test_a_forbidden_page_is_recorded_as_refused(applicant):
    address, agent = "203.0.113.61", "Chrome/131"
    client = browser(address, agent)
    client.force_login(applicant)
    mark = last_id()
    assert client.get(reverse("tolerance:fund_list")).status_code == 403
    entry = assert_recorded(mark, "access.refused", address=address, agent=agent, outcome="refused")
    assert entry.after["path"] == reverse("tolerance:fund_list")


def test_a_funding_decision(application_in, people):
    application = application_in(S.AWAITING_DECISION)
    address, agent = "203.0.113.70", "Firefox/133"
    client = browser(address, agent)
    client.force_login(people["approver"])
    reauthenticate(client)
    mark = last_id()
    url = reverse("funding:approve", args=[application.pk])
    response = client.post(url, {"approved_amount": "450,000", "comment": "同意资助"})
    assert response.status_code == 302
    actions = [entry.action for entry in written_since(mark)]
    decision = next(action for action in actions if action.startswith("funding.application."))
    assert_recorded(mark, decision, address=address, agent=agent)


def test_a_payment(application_in, people):
    application = application_in(S.DISBURSEMENT)
    file_report(application, people, accept=True)  # instalment 2 is released on the accepted report
    address, agent = "203.0.113.80", "Firefox/133"
    client = browser(address, agent)
    client.force_login(people["finance"])
    reauthenticate(client)
    mark = last_id()
    data = {"amount": "250,000.00", "paid_on": "2026-11-25", "reference": "PAY-2"}
    response = client.post(reverse("funding:disburse", args=[application.pk]), data)
    assert response["Location"] == reverse("funding:detail", args=[application.pk])
    entry = assert_recorded(mark, "funding.disbursement.created", address=address, agent=agent)
    assert Decimal(entry.after["amount"]) == Decimal("250000.00")
    assert audit.verify_chain().ok


def test_a_task_records_its_name_and_no_address():
    from valley.celery import app

    @app.task(name="tests.audit_probe")
    def probe():
        audit.record(action="test.probe")

    mark = last_id()
    probe.apply()
    (entry,) = written_since(mark)
    assert (entry.source_address, entry.user_agent, entry.outcome) == ("", "task:tests.audit_probe", "success")


def test_a_user_agent_with_nul_is_kept_without_it(applicant):
    client = browser("203.0.113.91", "evil\x00agent")
    mark = last_id()
    response = client.post(reverse("login"), {"username": applicant.email, "password": PASSWORD})
    assert response.status_code == 302
    (entry,) = written_since(mark)
    assert entry.user_agent == "evil\ufffdagent"


def test_a_long_user_agent_is_cut(applicant):
    client = browser("203.0.113.90", "x" * 5000)
    mark = last_id()
    client.post(reverse("login"), {"username": applicant.email, "password": "wrong"})
    (entry,) = written_since(mark)
    assert entry.user_agent == "x" * USER_AGENT_MAX_LENGTH


# ------------------------------------------------------------------ the address: never a spoofable header by default


def test_a_forwarded_for_header_from_an_untrusted_peer_is_ignored(applicant, settings):
    from axes.models import AccessAttempt

    settings.TRUSTED_PROXIES = ()
    client = Client(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="1.2.3.4", HTTP_USER_AGENT="spoofer")
    mark = last_id()
    client.post(reverse("login"), {"username": applicant.email, "password": "wrong"})
    (entry,) = written_since(mark)
    assert entry.source_address == "198.51.100.7"
    # The lockout counts the same address.
    assert AccessAttempt.objects.get(username=applicant.email).ip_address == "198.51.100.7"


def test_a_forwarded_for_header_from_a_trusted_proxy_gives_the_right_most_untrusted_hop(applicant, settings):
    from axes.models import AccessAttempt

    settings.TRUSTED_PROXIES = (ipaddress.ip_network("10.0.0.0/8"),)
    # The client wrote "1.2.3.4" itself; the outer proxy saw 203.0.113.99, the inner one 10.1.1.1.
    forwarded = "1.2.3.4, 203.0.113.99, 10.1.1.1"
    client = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded, HTTP_USER_AGENT="behind a proxy")
    mark = last_id()
    client.post(reverse("login"), {"username": applicant.email, "password": "wrong"})
    (entry,) = written_since(mark)
    assert entry.source_address == "203.0.113.99"
    assert AccessAttempt.objects.get(username=applicant.email).ip_address == "203.0.113.99"


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("198.51.100.7", "1.2.3.4", "198.51.100.7"),  # not a trusted peer: the header is not read
        ("10.0.0.2", "", "10.0.0.2"),  # a trusted proxy that forwarded nothing
        ("10.0.0.2", "203.0.113.5", "203.0.113.5"),
        ("10.0.0.2", "203.0.113.5, 10.9.9.9", "203.0.113.5"),
        ("10.0.0.2", "garbage, 10.9.9.9", "10.9.9.9"),  # the vouched-for hops end at the garbage
        ("10.0.0.2", "10.3.3.3, 10.9.9.9", "10.3.3.3"),  # all trusted: the left-most
        ("10.0.0.2", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_address(settings, peer, forwarded, expected):
    settings.TRUSTED_PROXIES = (ipaddress.ip_network("10.0.0.0/8"),)
    request = RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_trusted_proxies_refuses_a_bad_value(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from valley.env import env_networks

    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")
    assert env_networks("TRUSTED_PROXIES") == (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1"))
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8,proxy.local")
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
        env_networks("TRUSTED_PROXIES")


# ------------------------------------------------------------------ tamper-evident, old entries still verifying


def _written_from(address: str, agent: str, action: str):
    with audit.acting_from(address=address, agent=agent):
        audit.record(action=action)


def test_older_entries_without_the_source_keep_verifying_beside_new_ones(monkeypatch, settings):
    settings.AUDIT_HASH_ALGORITHM = "sha256"
    with monkeypatch.context() as patched:
        patched.setattr(chain, "HASH_FORMAT", 1)  # sealed as before the source was recorded
        audit.record(action="test.old")
    settings.AUDIT_HASH_ALGORITHM = "sm3"
    _written_from("203.0.113.1", "agent", "test.new")
    formats = dict(AuditEntry.objects.values_list("action", "hash_format"))
    assert (formats["test.old"], formats["test.new"]) == (1, 2)
    assert audit.verify_chain().ok


@pytest.mark.parametrize(
    ("column", "value"),
    [("source_address", "192.0.2.66"), ("user_agent", "someone else"), ("outcome", "failed"), ("hash_format", 1)],
)
def test_changing_the_source_or_outcome_of_an_entry_is_detected(audit_maintenance, column, value):
    _written_from("203.0.113.1", "agent", "test.first")
    _written_from("203.0.113.2", "agent", "test.second")
    victim = AuditEntry.objects.get(action="test.first")
    assert audit.verify_chain().ok
    with audit_maintenance(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE valley_auditentry SET {column} = %s WHERE id = %s", [value, victim.pk])  # noqa: S608
    check = audit.verify_chain()
    assert (check.ok, check.first_bad_id) == (False, victim.pk)


@pytest.mark.postgres
def test_sealing_must_leave_the_source_and_outcome_as_written(audit_sealed_after_commit):
    """The database lets a pending entry be sealed once, its content (the source and outcome too) unchanged."""
    from tests.valley.test_audit_integrity import refused

    with audit.acting_from(address="203.0.113.1", agent="agent"):
        entry = audit.record(action="test.pending")
    assert not entry.sealed
    sealing = "UPDATE valley_auditentry SET id = 999999, prev_hash = %s, hash = %s, hash_algorithm = 'sm3', "
    sealing += "hash_format = 2, {} WHERE id = %s"
    for change in ("source_address = '192.0.2.1'", "user_agent = 'x'", "outcome = 'failed'"):
        assert "append-only" in refused(sealing.format(change), ["0" * 64, "f" * 64, entry.pk]), change
    assert audit.seal() == 1 and audit.verify_chain().ok
    sealed = AuditEntry.objects.get(action="test.pending")
    assert (sealed.source_address, sealed.user_agent, sealed.hash_format) == ("203.0.113.1", "agent", 2)
