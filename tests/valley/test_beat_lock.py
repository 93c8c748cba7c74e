"""Exactly one beat at a time: two beat processes started on one deployment queue each periodic task once.

Two beats are what a deployment gets by mistake (beat enabled on two machines) or for a moment on every
restart; without the lock each would queue the nightly compliance check, the reminders and the notices.
"""

import re
import time

import pytest

pytestmark = pytest.mark.redis

NIGHTLY_CHECK = "tolerance-compliance-checks"
SENT = re.compile(rf"Scheduler: Sending due task {NIGHTLY_CHECK}\b")


def _sent(proc) -> int:
    return len(SENT.findall(proc.log_path.read_text(errors="replace")))


def _wait_for(condition, seconds: float, what: str, procs) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    logs = "\n\n".join(f"--- {p.log_path.name}\n{p.log_path.read_text(errors='replace')[-3000:]}" for p in procs)
    pytest.fail(f"{what} within {seconds} s\n{logs}")


def test_two_beats_send_the_nightly_check_once_and_the_second_takes_over_when_the_first_stops(start_celery_beat):
    # The nightly check every 2 seconds instead of at 01:30, so that a few "nights" pass in the test.
    schedule = {"TOLERANCE_CHECK_INTERVAL_SECONDS": 2}
    first = start_celery_beat(**schedule)
    _wait_for(lambda: _sent(first) >= 1, 60, "the first beat sent no nightly check", [first])
    second = start_celery_beat(**schedule)
    _wait_for(
        lambda: "beat: Starting" in second.log_path.read_text(errors="replace") or _sent(second),
        60,
        "the second beat did not start",
        [first, second],
    )

    # Several nights with both running: the first keeps sending, the second sends nothing.
    before = _sent(first)
    time.sleep(8)
    assert _sent(first) >= before + 2, "the first beat stopped sending"
    assert _sent(second) == 0, "two beats both sent the nightly check"

    # The first stops (a restart, a machine taken out): the waiting one takes over.
    first.terminate()
    first.wait(timeout=20)
    _wait_for(lambda: _sent(second) >= 2, 60, "the second beat did not take over", [first, second])
