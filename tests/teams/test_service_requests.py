"""The service system's rules (teams.service_requests): the workflow, the rating, the time limit, the overdue mail."""

import datetime
import threading
import zoneinfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from teams import service_requests as services
from teams.service_models import ServiceRequest, ServiceRequestEvent
from teams.tasks import auto_close_service_requests, flag_overdue_service_requests
from tests.factories import EntityFactory
from valley.messaging.mail import MAIL_TASK
from valley.models import AuditEntry, OutboxMessage

S = ServiceRequest.State
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _english_messages():
    # The services' refusals are read in English here; pages choose their language per request.
    from django.utils import translation

    with translation.override("en"):
        yield


def mails_to(address: str) -> list[str]:
    return [
        m.kwargs["subject"] for m in OutboxMessage.objects.filter(task=MAIL_TASK) if address in m.kwargs["recipients"]
    ]


def test_a_request_walks_the_whole_workflow_with_history_and_audit(submit, resident, finance_line, finance_staff):
    request = submit(resident, finance_line, preferred_contact="13800000000")
    services.service_request_accept(request=request, by=finance_staff, handler=finance_staff)
    services.service_request_message(request=request, by=finance_staff, body="请提供财务报表。")
    services.service_request_message(request=request, by=resident.owner, body="已附上。")
    services.service_request_resolve(request=request, by=finance_staff, resolution="已完成对接。")
    services.service_request_rate(request=request, by=resident.owner, rating=5, comment="很好")

    request.refresh_from_db()
    assert (request.state, request.rating, request.handler) == (S.CLOSED, 5, finance_staff)
    steps = list(request.events.values_list("from_state", "to_state"))
    assert steps == [
        ("", S.SUBMITTED),
        (S.SUBMITTED, S.ACCEPTED),
        (S.ACCEPTED, S.IN_PROGRESS),  # the line's first message starts the work
        (S.IN_PROGRESS, S.RESOLVED),
        (S.RESOLVED, S.CLOSED),
    ]
    actions = set(AuditEntry.objects.filter(object_id=str(request.pk)).values_list("action", flat=True))
    assert {"teams.service_request.accept", "teams.service_request.rate", "teams.service_request.message"} <= actions
    # The applicant heard of the acceptance, the line's message and the resolution.
    assert len(mails_to("team-a@example.cn")) == 3


def test_a_rating_before_resolution_is_refused(submit, resident, finance_line, finance_staff):
    request = submit(resident, finance_line)
    with pytest.raises(services.WrongState):
        services.service_request_rate(request=request, by=resident.owner, rating=4)
    services.service_request_accept(request=request, by=finance_staff, handler=finance_staff)
    with pytest.raises(services.WrongState):
        services.service_request_rate(request=request, by=resident.owner, rating=4)
    request.refresh_from_db()
    assert request.rating is None and request.state == S.ACCEPTED


def test_a_second_rating_is_refused_and_the_first_stands(resolved_request, resident):
    services.service_request_rate(request=resolved_request, by=resident.owner, rating=2, comment="太慢")
    with pytest.raises(services.WrongState):
        services.service_request_rate(request=resolved_request, by=resident.owner, rating=5, comment="改主意了")
    resolved_request.refresh_from_db()
    assert (resolved_request.rating, resolved_request.rating_comment) == (2, "太慢")
    assert resolved_request.events.filter(action="teams.service_request.rate").count() == 1


@pytest.mark.parametrize("rating", [0, 6, "", "five", None])
def test_a_rating_outside_1_to_5_gets_a_message(resolved_request, resident, rating):
    with pytest.raises(services.ServiceRequestError, match="1"):
        services.service_request_rate(request=resolved_request, by=resident.owner, rating=rating)


def test_only_the_applicant_rates(resolved_request, finance_staff, other_applicant):
    for someone in (finance_staff, other_applicant):
        with pytest.raises(services.NotAllowed):
            services.service_request_rate(request=resolved_request, by=someone, rating=5)


def test_the_database_refuses_a_rating_of_an_unresolved_request(submit, resident, finance_line):
    request = submit(resident, finance_line)
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceRequest.objects.filter(pk=request.pk).update(rating=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceRequest.objects.filter(pk=request.pk).update(rating=9)


def test_only_a_resident_entity_may_ask(applicant, finance_line):
    entity = EntityFactory(owner=applicant)
    with pytest.raises(services.WrongState, match="residency"):
        services.service_request_submit(entity=entity, line=finance_line, by=applicant, subject="x", details="y")


def test_nobody_but_the_owner_asks_for_an_entity(resident, finance_line, other_applicant):
    with pytest.raises(services.NotAllowed):
        services.service_request_submit(
            entity=resident, line=finance_line, by=other_applicant, subject="x", details="y"
        )


def test_a_rejection_needs_a_reason_and_tells_the_applicant(submit, resident, finance_line, finance_staff):
    request = submit(resident, finance_line)
    with pytest.raises(services.ServiceRequestError):
        services.service_request_reject(request=request, by=finance_staff, reason="  ")
    services.service_request_reject(request=request, by=finance_staff, reason="不属于本条线业务。")
    request.refresh_from_db()
    assert request.state == S.REJECTED and request.rejection_reason == "不属于本条线业务。"
    assert len(mails_to("team-a@example.cn")) == 1


def test_another_lines_staff_cannot_act_on_a_request(submit, resident, service_lines, finance_line, line_staff):
    technology_staff = line_staff(service_lines["technology"])
    request = submit(resident, finance_line)
    with pytest.raises(services.NotAllowed):
        services.service_request_accept(request=request, by=technology_staff, handler=technology_staff)
    with pytest.raises(services.NotAllowed):
        services.service_request_reject(request=request, by=technology_staff, reason="不是我们的")
    with pytest.raises(services.NotAllowed):
        services.service_request_message(request=request, by=technology_staff, body="你好")
    assert ServiceRequest.objects.get(pk=request.pk).state == S.SUBMITTED


def test_the_handler_is_one_of_the_lines_staff(
    submit, resident, service_lines, finance_line, finance_staff, line_staff
):
    request = submit(resident, finance_line)
    with pytest.raises(services.ServiceRequestError, match="handler"):
        services.service_request_accept(
            request=request, by=finance_staff, handler=line_staff(service_lines["technology"])
        )


@pytest.mark.parametrize(
    ("submitted", "limit", "due"),
    [
        # Wed 30 Sep 2026: 1–7 Oct are the National Day holiday, Sat 10 Oct a make-up working day, so the five
        # working days are Thu 8, Fri 9, Sat 10, Mon 12, Tue 13 October.
        (datetime.date(2026, 9, 30), 5, datetime.date(2026, 10, 13)),
        # Fri 18 Sep 2026: Sun 20 Sep is a make-up working day; 25–27 Sep the Mid-Autumn holiday.
        (datetime.date(2026, 9, 18), 5, datetime.date(2026, 9, 24)),
    ],
)
def test_the_due_date_follows_the_official_2026_calendar(
    calendar_2026_days, submit, resident, finance_line, submitted, limit, due
):
    finance_line.time_limit_working_days = limit
    finance_line.save()
    now = datetime.datetime.combine(submitted, datetime.time(12), tzinfo=SHANGHAI)
    assert submit(resident, finance_line, now=now).due_on == due


def _overdue(request, *, days_ago=1):
    today = timezone.localdate()
    ServiceRequest.objects.filter(pk=request.pk).update(
        submitted_on=today - datetime.timedelta(days=days_ago + 10), due_on=today - datetime.timedelta(days=days_ago)
    )


def test_the_lead_is_mailed_once_however_often_the_check_runs(submit, resident, finance_line, finance_lead):
    late, on_time = submit(resident, finance_line), submit(resident, finance_line, subject="按时")
    _overdue(late)
    assert flag_overdue_service_requests() == 1
    assert flag_overdue_service_requests() == 0
    assert len(mails_to("finance-lead@example.cn")) == 1
    late.refresh_from_db()
    on_time.refresh_from_db()
    assert late.overdue_notified_at is not None and on_time.overdue_notified_at is None


def test_a_resolved_request_is_not_overdue(resolved_request, finance_lead):
    _overdue(resolved_request)
    assert flag_overdue_service_requests() == 0
    assert mails_to("finance-lead@example.cn") == []


@pytest.mark.django_db(transaction=True)
def test_two_checks_at_once_mail_the_lead_once(service_lines, make_user, line_staff):
    if connection.vendor != "postgresql":
        pytest.skip("row locking needs PostgreSQL")
    from tests.factories import ResidencyFactory, SubVenueFactory

    finance = service_lines["finance"]
    finance.lead = line_staff(finance, email="finance-lead@example.cn")
    finance.save()
    owner = make_user("applicant")
    entity = EntityFactory(owner=owner)
    ResidencyFactory(entity=entity, sub_venue=SubVenueFactory(code="taiyuan"))
    requests = [
        services.service_request_submit(entity=entity, line=finance, by=owner, subject=f"s{i}", details="d")
        for i in range(5)
    ]
    for request in requests:
        _overdue(request)
    barrier = threading.Barrier(2)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(services.service_requests_flag_overdue())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 5
    assert len(mails_to("finance-lead@example.cn")) == 5


def test_an_unrated_request_closes_by_itself_after_the_policy_working_days(resolved_request, settings):
    assert resolved_request.auto_close_on > resolved_request.resolved_on
    assert auto_close_service_requests() == 0  # not yet
    ServiceRequest.objects.filter(pk=resolved_request.pk).update(auto_close_on=timezone.localdate())
    assert auto_close_service_requests() == 1
    assert auto_close_service_requests() == 0
    resolved_request.refresh_from_db()
    assert resolved_request.state == S.CLOSED and resolved_request.rating is None
    last = ServiceRequestEvent.objects.filter(request=resolved_request).last()
    assert (last.action, last.by) == ("teams.service_request.auto_close", None)


def test_a_closed_request_cannot_be_rated(resolved_request, resident):
    services.service_request_auto_close(request=resolved_request)
    with pytest.raises(services.WrongState):
        services.service_request_rate(request=resolved_request, by=resident.owner, rating=5)
