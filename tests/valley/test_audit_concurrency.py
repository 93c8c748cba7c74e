"""The audit log under concurrent writers, on PostgreSQL with real commits: writers do not wait for each
other, and the entries are sealed into one chain after their commits, each once, without gaps or forks."""

import logging
import threading

import pytest
from django.db import connection, transaction

from valley import audit
from valley.models import AuditChainHead, AuditEntry

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("audit_sealed_after_commit")]

WRITERS, TRANSACTIONS = 8, 25


def in_threads(*targets, timeout=120):
    """Each target in its own thread, so on its own database connection."""
    failures = []

    def run(target):
        try:
            target()
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a writer hung"
    assert not failures, failures


def pending() -> int:
    return AuditEntry.objects.filter(id__gt=AuditEntry.PENDING_FROM).count()


@pytest.fixture
def base(transactional_db) -> int:
    """Entries already there (the fund policy that migrate creates is audited), all sealed."""
    audit.seal()
    return AuditChainHead.objects.get().last_id


def test_eight_writers_at_once_make_one_chain_with_every_entry_sealed_once(base, caplog):
    caplog.set_level(logging.ERROR, logger="valley.audit")
    barrier = threading.Barrier(WRITERS)

    def writer(number):
        barrier.wait()
        for i in range(TRANSACTIONS):
            with transaction.atomic():
                # Two entries in one transaction, as a service with a change and its transition writes.
                audit.record(action="test.write", object_type="writer", object_id=number, after={"i": i, "part": 1})
                audit.record(action="test.write", object_type="writer", object_id=number, after={"i": i, "part": 2})

    in_threads(*[lambda n=n: writer(n) for n in range(WRITERS)])

    total = base + WRITERS * TRANSACTIONS * 2
    assert not caplog.records, [r.getMessage() for r in caplog.records]  # no seal failed
    assert pending() == 0  # each writer's own after-commit seal left nothing behind
    ids = list(AuditEntry.objects.order_by("id").values_list("id", flat=True))
    assert ids == list(range(1, total + 1))  # no gaps
    written = list(AuditEntry.objects.filter(action="test.write").values_list("object_id", "after__i", "after__part"))
    assert len(set(written)) == len(written) == WRITERS * TRANSACTIONS * 2  # each entry once
    prev_hashes = list(AuditEntry.objects.values_list("prev_hash", flat=True))
    assert len(set(prev_hashes)) == total  # no two entries follow the same one: no fork
    head = AuditChainHead.objects.get()
    assert (head.last_id, head.last_hash) == (total, AuditEntry.objects.get(id=total).hash)
    check = audit.verify_chain()
    assert (check.ok, check.entries, check.pending) == (True, total, 0)
    # A writer's two entries keep their order in the chain.
    for number in range(WRITERS):
        mine = (
            AuditEntry.objects.filter(action="test.write", object_id=str(number))
            .order_by("id")
            .values_list("after__i", "after__part")
        )
        assert list(mine) == [(i, part) for i in range(TRANSACTIONS) for part in (1, 2)]


def test_a_writer_does_not_wait_for_another_writers_open_transaction(base):
    first_wrote, second_committed = threading.Event(), threading.Event()

    def slow():
        with transaction.atomic():
            audit.record(action="test.slow")
            first_wrote.set()
            # With a lock shared by writers (the chain head's, before sealing came), the second writer would
            # wait for this transaction, and this would time out.
            assert second_committed.wait(timeout=20), "the second writer waited for the first"

    def quick():
        assert first_wrote.wait(timeout=20)
        with transaction.atomic():
            audit.record(action="test.quick")
        second_committed.set()

    in_threads(slow, quick)

    # Sealed in the order of the commits: the quick one first, though the slow one was written first.
    sealed = AuditEntry.objects.filter(id__gt=base).order_by("id").values_list("id", "action")
    assert list(sealed) == [(base + 1, "test.quick"), (base + 2, "test.slow")]
    assert audit.verify_chain().ok


def test_entries_written_in_one_transaction_are_sealed_in_the_order_written(base):
    with transaction.atomic():
        for step in ("first", "second", "third", "fourth"):
            audit.record(action=f"test.{step}")
        assert pending() == 4  # visible to the writer at once, sealed only after the commit
    assert list(AuditEntry.objects.filter(id__gt=base).order_by("id").values_list("action", flat=True)) == [
        "test.first",
        "test.second",
        "test.third",
        "test.fourth",
    ]
    assert pending() == 0 and audit.verify_chain().ok


def test_a_failing_seal_never_fails_the_writer_and_the_next_seal_catches_up(base, monkeypatch, caplog):
    from valley.audit import chain, tasks

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    with monkeypatch.context() as patched:
        patched.setattr(chain, "_seal_step", broken)
        with transaction.atomic():
            entry = audit.record(action="test.unsealed")
    assert "sealing after commit failed" in caplog.text
    assert not entry.sealed and AuditEntry.objects.get(id=entry.id).action == "test.unsealed"

    assert tasks.seal() == 1  # beat's task
    assert AuditEntry.objects.get(action="test.unsealed").id == base + 1 and audit.verify_chain().ok


def test_a_pending_entry_is_not_in_the_export_until_sealed_and_verify_seals_it(base, monkeypatch):
    from valley.audit import chain

    monkeypatch.setattr(chain, "_seal_quietly", lambda: None)  # as if the writer's process ended at its commit
    with transaction.atomic():
        audit.record(action="test.late")
    assert pending() == 1 and AuditChainHead.objects.get().last_id == base
    check = audit.verify_chain()
    assert (check.ok, check.entries, check.pending) == (True, base + 1, 0)
    assert AuditEntry.objects.get(action="test.late").id == base + 1


def test_an_entry_committed_while_another_writer_seals_is_sealed_by_that_writer(base, monkeypatch):
    """The hand-over in seal_unless_busy: B commits while A holds the lock, past A's SELECT; B does not
    wait, and A, once it has released the lock, looks again and seals B's entry."""
    from valley.audit import chain

    real_step, holding, b_committed, calls = chain._seal_step, threading.Event(), threading.Event(), []

    def step_then_wait(batch):
        sealed = real_step(batch)
        if not calls:
            calls.append(sealed)
            holding.set()
            assert b_committed.wait(timeout=20)
        return sealed

    monkeypatch.setattr(chain, "_seal_step", step_then_wait)
    results = []

    def writer_b():
        assert holding.wait(timeout=20)
        with transaction.atomic():
            audit.record(action="test.b")
        results.append(pending())  # B's own seal found the lock taken and left its entry pending
        b_committed.set()

    in_threads(lambda: results.append(chain.seal_unless_busy()), writer_b)

    assert sorted(results) == [1, 1]  # B saw its entry pending; A sealed one entry, B's
    assert pending() == 0 and AuditEntry.objects.get(action="test.b").id == base + 1
    assert audit.verify_chain().ok
