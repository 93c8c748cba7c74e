"""The audit log: what is recorded, and that changing or deleting an entry is detected."""

import re
import weakref

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse

from funding.models import Application
from valley import audit
from valley.models import AuditEntry

S = Application.State


@pytest.fixture
def logged_history(application_in, people):
    application_in(S.DISBURSEMENT)
    assert AuditEntry.objects.count() > 20
    return AuditEntry.objects.count()


def test_a_transition_is_recorded_with_who_and_the_values_before_and_after(application_in, people):
    application = application_in(S.PUBLIC_NOTICE)
    approval = AuditEntry.objects.get(action="funding.application.approve", object_id=str(application.pk))
    assert approval.actor == people["approver"]
    assert approval.before == {"state": "awaiting_decision"}
    assert approval.after["state"] == "public_notice"
    change = AuditEntry.objects.filter(action="funding.application.changed", object_id=str(application.pk)).last()
    assert change.before["state"] == "awaiting_decision"
    assert change.after["approved_amount"] == "500000.00"
    budget_change = AuditEntry.objects.filter(action="funding.budget.changed").last()
    assert (budget_change.before, budget_change.after) == ({"reserved": "0.00"}, {"reserved": "500000.00"})


def test_the_chain_of_a_real_history_is_intact(logged_history):
    check = audit.verify_chain()
    assert check.ok and check.entries == logged_history
    call_command("verify_audit_log")


def test_an_entry_changed_with_raw_sql_is_named(logged_history, audit_maintenance):
    victim = AuditEntry.objects.filter(action="funding.budget.changed").first()
    with audit_maintenance(), connection.cursor() as cursor:
        cursor.execute("UPDATE valley_auditentry SET after = %s WHERE id = %s", ['{"reserved": "1.00"}', victim.pk])
    check = audit.verify_chain()
    assert (check.ok, check.first_bad_id) == (False, victim.pk)
    assert "altered" in check.problem
    with pytest.raises(CommandError, match=f"entry #{victim.pk}"):
        call_command("verify_audit_log")


def test_a_deleted_entry_is_detected(logged_history, audit_maintenance):
    with audit_maintenance(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM valley_auditentry WHERE id = %s", [7])
    check = audit.verify_chain()
    assert (check.ok, check.first_bad_id) == (False, 8)
    assert "#7" in check.problem and "missing" in check.problem


def test_deleting_the_newest_entries_is_detected(logged_history, audit_maintenance):
    with audit_maintenance(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM valley_auditentry WHERE id > %s", [logged_history - 2])
    check = audit.verify_chain()
    assert not check.ok and "missing" in check.problem


def test_a_rewritten_chain_is_detected_even_with_consistent_ids(logged_history, audit_maintenance):
    # Change an entry and recompute its own hash: the next entry's previous hash no longer matches.
    victim = AuditEntry.objects.get(id=5)
    victim.action = "funding.application.nothing_happened"
    fields = {
        f: getattr(victim, f)
        for f in (
            "id",
            "at",
            "actor_id",
            "actor_email",
            "action",
            "object_type",
            "object_id",
            "before",
            "after",
            "source_address",
            "user_agent",
            "outcome",
            "prev_hash",
            "hash_algorithm",
            "hash_format",
        )
    }
    with audit_maintenance():
        AuditEntry.objects.filter(id=5).update(action=victim.action, hash=audit.entry_digest(**fields))
    check = audit.verify_chain()
    assert (check.ok, check.first_bad_id) == (False, 6)


def test_logins_and_failed_logins_are_recorded(client, provincial_staff, applicant):
    client.post(reverse("login"), {"username": provincial_staff.email, "password": "pw-Valley-2026!"})
    client.post(reverse("login"), {"username": "nobody@example.cn", "password": "wrong"})
    client.logout()
    client.post(reverse("login"), {"username": applicant.email, "password": "pw-Valley-2026!"})
    actions = list(AuditEntry.objects.values_list("action", "actor_email"))
    assert ("auth.login", provincial_staff.email) in actions
    assert ("auth.login_failed", "") in actions
    assert ("auth.login", applicant.email) in actions  # applicants' too (issue 18)
    assert "wrong" not in str(list(AuditEntry.objects.values_list("after", flat=True)))


def test_the_auditor_page_shows_the_state_of_the_chain(client, auditor, logged_history, audit_maintenance):
    client.force_login(auditor)
    page = client.get(reverse("audit_check"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-audit="intact"' in page
    with audit_maintenance():
        AuditEntry.objects.filter(id=3).update(object_id="999")
    page = client.get(reverse("audit_check"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-first-bad="3"' in page and "NOT intact" in page


def test_applicants_cannot_reach_the_audit_pages(client, applicant):
    client.force_login(applicant)
    assert client.get(reverse("audit_check")).status_code == 404
    assert client.get(reverse("export_download", args=["audit-log"])).status_code == 404


@pytest.fixture(autouse=True)
def _english_messages():
    from django.utils import translation

    with translation.override("en"):
        yield


def test_no_save_signal_writes_audit_entries():
    """Entries are written by the services, where the change is made (a bulk path or a raw UPDATE cannot
    slip past a receiver that is not there, and a direct save() is not a way to change a decision)."""
    from django.db.models import signals

    from valley import audit

    def resolved(reference):
        return reference() if isinstance(reference, weakref.ReferenceType) else reference

    modules = [
        getattr(resolved(entry[1]), "__module__", "")
        for signal in (signals.pre_save, signals.post_save, signals.post_delete, signals.m2m_changed)
        for entry in signal.receivers
    ]
    assert modules, "the signals' receivers were not found where Django keeps them"
    assert [module for module in modules if module.startswith(audit.__name__)] == []


def test_the_command_speaks_one_language_whole(logged_history, audit_maintenance):
    """The check's problem is translated, so the sentence around it is too (not English around Chinese)."""
    from django.utils import translation

    victim = AuditEntry.objects.filter(action="funding.budget.changed").first()
    with audit_maintenance(), connection.cursor() as cursor:
        cursor.execute("UPDATE valley_auditentry SET after = %s WHERE id = %s", ['{"reserved": "1.00"}', victim.pk])
    with translation.override("zh-hans"), pytest.raises(CommandError) as refused:
        call_command("verify_audit_log")
    message = str(refused.value)
    assert message.startswith("审计日志不完整") and f"第 {victim.pk} 条" in message
    assert not re.search(r"[A-Za-z]{3,}", message.replace("SHA-256", "")), message


@pytest.mark.django_db
def test_entries_written_together_are_chained_in_the_order_given_and_verify():
    audit.record(action="test.before", object_type="test.thing", object_id=1)
    written = audit.record_many(
        [{"action": "test.bulk", "object_type": "test.thing", "object_id": n, "after": {"n": n}} for n in range(1, 6)]
        + [None]  # nothing changed: no entry
    )
    audit.record(action="test.after", object_type="test.thing", object_id=9)
    audit.seal()
    assert written == 5
    ours = AuditEntry.objects.filter(action__startswith="test.").order_by("id")
    assert list(ours.values_list("action", "object_id")) == [
        ("test.before", "1"),
        *[("test.bulk", str(n)) for n in range(1, 6)],
        ("test.after", "9"),
    ]
    check = audit.verify_chain()
    assert check.ok and check.entries == AuditEntry.objects.count() and not check.pending, check
