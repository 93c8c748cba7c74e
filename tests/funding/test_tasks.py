"""funding.tasks: the beat task that ends the public notices whose period is over."""

import datetime

from django.conf import settings
from django.utils import timezone

from funding import services, tasks
from funding.models import Application, ApplicationEvent
from valley.models import AuditEntry

S = Application.State
TODAY = timezone.localdate()


def _notice_ends(application, day):
    Application.objects.filter(pk=application.pk).update(notice_ends_on=day)


def _state(application):
    return Application.objects.values_list("state", flat=True).get(pk=application.pk)


def test_beat_runs_it():
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "funding.tasks.end_public_notices" in tasks_scheduled
    assert tasks.end_public_notices.name == "funding.tasks.end_public_notices"


def test_it_ends_only_the_notices_that_are_over_without_an_objection(application_in, people):
    over, ends_today, objected = (application_in(S.PUBLIC_NOTICE) for _ in range(3))
    awaiting = application_in(S.AWAITING_DECISION)
    _notice_ends(over, TODAY - datetime.timedelta(days=1))
    _notice_ends(ends_today, TODAY)  # the last day of the notice: it is not over yet
    services.application_record_objection(application=objected, by=people["approver"], objection="实名异议")
    _notice_ends(objected, TODAY - datetime.timedelta(days=3))

    assert tasks.end_public_notices.apply().get() == [over.pk]  # through Celery, as beat sends it

    assert (_state(over), _state(ends_today), _state(objected), _state(awaiting)) == (
        S.REGISTRATION,
        S.PUBLIC_NOTICE,
        S.PUBLIC_NOTICE,
        S.AWAITING_DECISION,
    )
    event = ApplicationEvent.objects.filter(application=over).last()
    assert (event.action, event.from_state, event.to_state, event.by) == (
        "funding.application.end_notice",
        S.PUBLIC_NOTICE,
        S.REGISTRATION,
        None,  # the portal acted on schedule
    )
    entry = AuditEntry.objects.filter(action="funding.application.end_notice", object_id=str(over.pk)).get()
    assert (entry.actor, entry.before, entry.after["state"]) == (None, {"state": "public_notice"}, "registration")


def test_running_it_twice_changes_nothing_more(application_in):
    over = application_in(S.PUBLIC_NOTICE)
    _notice_ends(over, TODAY - datetime.timedelta(days=1))
    assert tasks.end_public_notices() == [over.pk]
    events, entries = ApplicationEvent.objects.count(), AuditEntry.objects.count()

    assert tasks.end_public_notices() == []
    assert (ApplicationEvent.objects.count(), AuditEntry.objects.count()) == (events, entries)
    assert _state(over) == S.REGISTRATION


def test_the_day_after_the_last_day_it_ends_that_notice_too(application_in, monkeypatch):
    notice = application_in(S.PUBLIC_NOTICE)
    _notice_ends(notice, TODAY)
    assert tasks.end_public_notices() == []
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY + datetime.timedelta(days=1))
    assert tasks.end_public_notices() == [notice.pk]
