"""Daily anchors of the audit chain (valley.audit.anchors): written once outside the database, mailed to the
auditors once, and what finds a chain that someone rewrote end to end with every hash recomputed."""

import datetime
import json

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone, translation

from valley import audit
from valley.audit import anchors, chain
from valley.audit import tasks as audit_tasks
from valley.messaging.mail import MAIL_TASK
from valley.models import AuditChainHead, AuditEntry, OutboxMessage


@pytest.fixture
def anchor_dir(settings, tmp_path):
    settings.AUDIT_ANCHOR_DIR = tmp_path / "anchors"  # not there yet: the first anchor makes it
    return settings.AUDIT_ANCHOR_DIR


@pytest.fixture
def today(monkeypatch):
    """Today's entries, anchored as if the day were over: the clock says it is tomorrow."""
    day = timezone.localdate()
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: day + datetime.timedelta(days=1))
    return day


@pytest.fixture
def history(db):
    for n in range(12):
        audit.record(action="test.entry", object_type="test.thing", object_id=n, after={"n": n})
    return AuditEntry.objects.count()


def anchor_mails():
    return [m for m in OutboxMessage.objects.filter(task=MAIL_TASK) if "verify_audit_log" in m.kwargs["body"]]


def verify() -> str:
    """The command's output, in English for the assertions (it speaks the active language, as the portal)."""
    from io import StringIO

    out = StringIO()
    with translation.override("en"):
        call_command("verify_audit_log", stdout=out)
    return out.getvalue()


def rewrite_end_to_end(audit_maintenance, *, entry_id: int):
    """What a database owner could do: change one entry, recompute every hash from there on the way chain.py
    does, and move the head along. The chain is then consistent in itself."""
    columns = [*chain._CONTENT, "prev_hash", "hash_algorithm"]
    with audit_maintenance():
        previous = AuditEntry.objects.get(id=entry_id - 1).hash if entry_id > 1 else audit.GENESIS
        for entry in AuditEntry.objects.filter(id__gte=entry_id, id__lte=AuditEntry.PENDING_FROM).order_by("id"):
            if entry.id == entry_id:
                entry.after = {"n": "rewritten"}
            fields = {name: getattr(entry, name) for name in columns}
            digest = audit.entry_digest(**{**fields, "prev_hash": previous})
            AuditEntry.objects.filter(id=entry.id).update(after=entry.after, prev_hash=previous, hash=digest)
            previous = digest
        AuditChainHead.objects.filter(pk=1).update(last_hash=previous)


def test_an_anchor_is_written_outside_the_database_once_and_never_replaced(anchor_dir, today, history, auditor):
    assert not anchor_dir.exists()
    anchor = anchors.write_anchor(today)
    path = anchor_dir / f"{today.isoformat()}.json"
    assert anchor.path == path and path.exists()
    written = json.loads(path.read_text(encoding="utf-8"))
    last = AuditEntry.objects.get(id=history)
    assert written["date"] == today.isoformat()
    assert (written["last_id"], written["hash"], written["hash_algorithm"]) == (last.id, last.hash, "sm3")
    assert written["entries"] == history and written["written_at"]
    before = path.read_bytes()

    # The chain grows; a second anchor for the day is refused, and the first one stands byte for byte.
    audit.record(action="test.later")
    with pytest.raises(anchors.AnchorExists):
        anchors.write_anchor(today)
    assert path.read_bytes() == before
    assert [p.name for p in anchor_dir.iterdir()] == [path.name]  # no temporary file left behind


def test_the_auditors_are_mailed_the_anchor_once(anchor_dir, today, history, auditor, make_user):
    from valley.core import roles

    second = make_user(roles.AUDITOR, email="auditor2@example.cn")
    make_user(roles.AUDITOR, email="gone@example.cn", is_active=False)
    anchor = anchors.write_anchor(today)
    with pytest.raises(anchors.AnchorExists):
        anchors.write_anchor(today)
    [mail] = anchor_mails()
    assert sorted(mail.kwargs["recipients"]) == sorted([auditor.email, second.email])  # not the inactive one
    assert anchor.hash in mail.kwargs["body"] and f"#{anchor.last_id}" in mail.kwargs["body"]
    assert today.isoformat() in mail.kwargs["subject"]


def test_the_command_anchors_a_given_day_and_says_when_it_already_has_one(anchor_dir, today, history, auditor):
    from io import StringIO

    def anchor_command(*args) -> str:
        out = StringIO()
        with translation.override("en"):
            call_command("anchor_audit_log", *args, stdout=out)
        return out.getvalue()

    first = anchor_command("--date", today.isoformat())
    assert f"at entry #{history} ({history} entries)" in first and "mailed to 1 auditors" in first
    again = anchor_command("--date", today.isoformat())
    assert "already has its anchor" in again and "not replaced" in again
    assert len(anchor_mails()) == 1
    with pytest.raises(CommandError, match="is not a date"):
        anchor_command("--date", "2026-13-40")
    with pytest.raises(CommandError, match="has not ended yet"):
        anchor_command("--date", (today + datetime.timedelta(days=1)).isoformat())


def test_the_anchor_leaves_out_entries_written_after_the_day(anchor_dir, history, auditor):
    # Yesterday ended before any of these entries: its anchor is the empty chain's.
    anchor = anchors.write_anchor(timezone.localdate() - datetime.timedelta(days=1))
    assert (anchor.last_id, anchor.hash, anchor.entries) == (0, audit.GENESIS, 0)
    assert "matches its 1 anchor" in verify()


def test_a_chain_rewritten_end_to_end_is_found_through_the_anchor(
    anchor_dir, today, history, auditor, audit_maintenance
):
    anchors.write_anchor(today)
    rewrite_end_to_end(audit_maintenance, entry_id=3)
    # The chain check alone cannot see it: every hash was recomputed and the head moved along.
    assert audit.verify_chain().ok
    with pytest.raises(CommandError) as refused:
        verify()
    message = str(refused.value)
    assert f"{today.isoformat()}.json" in message and f"#{history}" in message and "rewritten" in message


def test_an_anchor_whose_count_no_longer_fits_is_reported(anchor_dir, today, history, auditor):
    anchors.write_anchor(today)
    path = anchors.anchor_path(today)
    content = json.loads(path.read_text())
    path.write_text(json.dumps({**content, "entries": content["entries"] - 1}))
    with pytest.raises(CommandError, match=f"holds {history} entries up to #{history}"):
        verify()


def test_an_unreadable_anchor_file_is_reported(anchor_dir, history):
    anchor_dir.mkdir()
    (anchor_dir / "2026-01-01.json").write_text("{not json")
    with pytest.raises(CommandError, match="2026-01-01.json.*cannot be read"):
        verify()


def test_an_untouched_chain_with_anchors_passes_and_goes_on_growing(anchor_dir, today, history, auditor):
    anchors.write_anchor(today - datetime.timedelta(days=1))
    anchors.write_anchor(today)
    audit.record(action="test.after_the_anchor")
    out = verify()
    assert f"{history + 1} entries" in out and "matches its 2 anchors" in out


def test_without_anchors_the_check_says_so_and_passes(anchor_dir, history):
    out = verify()
    assert f"{history} entries" in out and "no anchors" in out


def test_beat_anchors_yesterday_after_midnight_and_leaves_an_anchored_day_alone(anchor_dir, today, history, auditor):
    entry = django_settings.CELERY_BEAT_SCHEDULE["valley-audit-anchor"]
    assert entry["task"] == "valley.audit.anchor" and entry["schedule"].hour == set(range(24))
    assert entry["schedule"].minute == {10}
    assert audit_tasks.anchor() == str(anchors.anchor_path(today))  # "yesterday", as the clock says tomorrow
    assert audit_tasks.anchor() is None
    assert len(anchor_mails()) == 1


# ------------------------------------------------------------------------------ SM2 signatures


@pytest.fixture
def sm2_key(settings):
    """An SM2 key pair configured as a deployment would: the private key signs, the public key verifies."""
    from valley.audit import signing

    pair = signing.generate_keypair()
    settings.AUDIT_ANCHOR_SM2_PRIVATE_KEY = pair.private
    settings.AUDIT_ANCHOR_SM2_PUBLIC_KEY = pair.public
    return pair


def test_with_a_key_each_anchor_is_signed_and_the_signature_verifies(anchor_dir, today, history, auditor, sm2_key):
    from valley.audit import signing

    anchors.write_anchor(today)
    written = json.loads(anchors.anchor_path(today).read_text(encoding="utf-8"))
    signature = written["signature"]
    assert signature["algorithm"] == "sm2-sm3" and signature["key_id"] == signing.key_id(sm2_key.public)
    # The signature covers the anchor's facts; anyone holding the public key can check it.
    assert signing.verify(anchors.signed_content(written), signature["value"], sm2_key.public)
    out = verify()
    assert "matches its 1 anchor" in out
    assert f"1 anchor's SM2 signature verifies with key {signing.key_id(sm2_key.public)}" in out


def test_an_anchor_moved_along_with_a_rewritten_chain_fails_its_signature(
    anchor_dir, today, history, auditor, audit_maintenance, sm2_key
):
    """The attack the signature is for: whoever rewrites the chain also edits the anchor file to the new head.
    Chain and anchor agree again; only the signature, which they cannot make without the private key, says no."""
    anchors.write_anchor(today)
    rewrite_end_to_end(audit_maintenance, entry_id=3)
    path = anchors.anchor_path(today)
    content = json.loads(path.read_text(encoding="utf-8"))
    content["hash"] = AuditChainHead.objects.get(pk=1).last_hash  # the anchor "agrees", its signature kept
    path.write_text(json.dumps(content, indent=2), encoding="utf-8")
    with pytest.raises(CommandError) as refused:
        verify()
    message = str(refused.value)
    assert f"{today.isoformat()}.json" in message
    assert "SM2 signature does not match its content (the anchor file was altered)" in message


def test_a_signed_anchor_that_only_moved_around_in_its_file_still_verifies(
    anchor_dir, today, history, auditor, sm2_key
):
    """The signature covers the content, not the layout: a file re-indented or with its keys reordered (by an
    editor, a copy through another tool) still verifies."""
    anchors.write_anchor(today)
    path = anchors.anchor_path(today)
    content = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(dict(reversed(list(content.items())))), encoding="utf-8")
    assert "SM2 signature verifies" in verify()


def test_with_a_public_key_an_unsigned_anchor_fails_unless_it_is_older_than_signing(
    anchor_dir, today, history, auditor, settings
):
    from valley.audit import signing

    anchors.write_anchor(today)  # no key yet: unsigned
    assert "signature" not in json.loads(anchors.anchor_path(today).read_text(encoding="utf-8"))
    assert "signatures were not checked" in verify()
    settings.AUDIT_ANCHOR_SM2_PUBLIC_KEY = signing.generate_keypair().public  # the verifier's host: public key only
    with pytest.raises(CommandError, match="not signed"):
        verify()
    settings.AUDIT_ANCHOR_SIGNED_FROM = today + datetime.timedelta(days=1)  # signing began after that anchor
    assert "0 anchors' SM2 signatures verify" in verify()


def test_an_anchor_signed_with_another_key_fails(anchor_dir, today, history, auditor, sm2_key, settings):
    from valley.audit import signing

    anchors.write_anchor(today)
    settings.AUDIT_ANCHOR_SM2_PRIVATE_KEY = ""
    settings.AUDIT_ANCHOR_SM2_PUBLIC_KEY = signing.generate_keypair().public
    with pytest.raises(CommandError, match="signed with another key"):
        verify()


def test_a_generated_key_pair_signs_and_verifies_from_its_files(
    anchor_dir, today, history, auditor, settings, tmp_path
):
    from io import StringIO

    out = StringIO()
    with translation.override("en"):
        call_command("generate_anchor_key", str(tmp_path / "keys"), stdout=out)
    private, public = tmp_path / "keys" / "audit-anchor-sm2.key", tmp_path / "keys" / "audit-anchor-sm2.pub"
    assert private.stat().st_mode & 0o777 == 0o600
    assert f"AUDIT_ANCHOR_SM2_PRIVATE_KEY_FILE={private}" in out.getvalue()
    settings.AUDIT_ANCHOR_SM2_PRIVATE_KEY_FILE = str(private)  # the anchors' writer holds the private key...
    anchors.write_anchor(today)
    settings.AUDIT_ANCHOR_SM2_PRIVATE_KEY_FILE = ""
    settings.AUDIT_ANCHOR_SM2_PUBLIC_KEY_FILE = str(public)  # ...the verifier only the public one
    assert "1 anchor's SM2 signature verifies" in verify()
    with pytest.raises(CommandError, match="never overwritten"), translation.override("en"):
        call_command("generate_anchor_key", str(tmp_path / "keys"), stdout=StringIO())


def test_a_malformed_key_stops_with_a_message_naming_the_setting(anchor_dir, history, settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.AUDIT_ANCHOR_SM2_PUBLIC_KEY = "not-a-key"
    with pytest.raises(ImproperlyConfigured, match="AUDIT_ANCHOR_SM2_PUBLIC_KEY"):
        anchors.verify_anchors()


# ------------------------------------------------------------------------------ the auditors' page


def check_page(client, auditor) -> str:
    from django.urls import reverse

    client.force_login(auditor)
    response = client.get(reverse("audit_check"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def test_the_check_page_reports_the_anchors_and_links_the_file_they_are_compared_with(
    client, anchor_dir, today, history, auditor, sm2_key
):
    from valley.audit import signing

    assert 'data-anchors="none"' in check_page(client, auditor)
    anchors.write_anchor(today)
    page = check_page(client, auditor)
    anchored = json.loads(anchors.anchor_path(today).read_text(encoding="utf-8"))
    last = AuditEntry.objects.get(id=anchored["last_id"])  # the day's last entry, as the database holds it
    assert 'data-anchors="match"' in page and "matches its 1 anchor" in page
    assert f"Newest anchor: {today.isoformat()}, entry #{last.id}, hash {last.hash}" in page
    assert f"1 anchor's SM2 signature verifies with key {signing.key_id(sm2_key.public)}" in page
    assert '/exports/audit-log.csv?header=machine"' in page  # the file whose ids and hashes the anchors name

    path = anchors.anchor_path(today)
    path.write_text(path.read_text(encoding="utf-8").replace('"written_at": "', '"written_at": "1'), encoding="utf-8")
    page = check_page(client, auditor)
    assert 'data-anchors="broken"' in page and f'data-anchor-file="{path.name}"' in page
    assert "SM2 signature does not match its content" in page


def test_the_check_page_reads_anchors_in_a_constant_number_of_queries(
    client, anchor_dir, today, history, auditor, sm2_key, django_assert_max_num_queries
):
    anchors.write_anchor(today - datetime.timedelta(days=2))
    check_page(client, auditor)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        check_page(client, auditor)
    anchors.write_anchor(today - datetime.timedelta(days=1))
    anchors.write_anchor(today)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert "matches its 3 anchors" in check_page(client, auditor)


def test_the_readme_recipe_checks_an_anchor_signature_without_the_portal(
    anchor_dir, today, history, auditor, sm2_key, tmp_path, monkeypatch
):
    import subprocess
    import sys
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    recipe = readme[readme.index("check an anchor\nfile without the portal") :].split("```python\n", 1)[1]
    recipe = recipe.split("```", 1)[0].replace("2026-12-03.json", "anchor.json")
    anchors.write_anchor(today)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "audit-anchor-sm2.pub").write_text(sm2_key.public + "\n", encoding="utf-8")
    signed = anchors.anchor_path(today).read_text(encoding="utf-8")
    (tmp_path / "anchor.json").write_text(signed, encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", recipe], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "signed"), done.stderr
    content = json.loads(signed)
    (tmp_path / "anchor.json").write_text(json.dumps({**content, "entries": content["entries"] + 1}), encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", recipe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "the anchor was altered" in done.stderr
