"""The service requests in the Django admin (teams/service_admin.py): the reject and resolve actions ask for their
text on an intermediate page, then call the same services as the pages and the API."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import translation

from teams import service_requests as services
from teams.service_models import ServiceRequest, ServiceRequestEvent
from valley.core import roles
from valley.messaging.mail import MAIL_TASK
from valley.models import AuditEntry, OutboxMessage

S = ServiceRequest.State
CHANGELIST = "admin:teams_servicerequest_changelist"


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def _act(client, action, requests, **fields):
    """Run `action` on `requests` from the changelist; with `fields`, as the intermediate page posts it back."""
    data = {"action": action, "_selected_action": [r.pk for r in requests]}
    if fields:
        data |= {"apply": "1", **fields}
    return client.post(reverse(CHANGELIST), data, follow=True)  # the changelist shows (and uses up) the messages


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _state(request) -> str:
    return ServiceRequest.objects.values_list("state", flat=True).get(pk=request.pk)


def test_reject_asks_for_the_reason_first(client, submit, resident, finance_line, finance_staff):
    request = submit(resident, finance_line)
    client.force_login(finance_staff)
    choices = dict(client.get(reverse(CHANGELIST)).context["action_form"].fields["action"].choices)
    assert {"reject_with_reason", "resolve_with_resolution"} <= set(choices)

    page = _act(client, "reject_with_reason", [request])
    assert page.status_code == 200 and not page.redirect_chain
    body = page.content.decode()
    assert "“reject” for these service requests:" in body and request.subject in body
    assert 'name="csrfmiddlewaretoken"' in body and 'name="reason"' in body
    assert f'name="_selected_action" value="{request.pk}"' in body and 'value="reject_with_reason"' in body
    assert _state(request) == S.SUBMITTED  # nothing done yet

    # Posted back without a reason: the page again, with the form's error, and still nothing done.
    again = _act(client, "reject_with_reason", [request], reason="  ")
    assert again.status_code == 200 and "This field is required." in again.content.decode()
    assert _state(request) == S.SUBMITTED


def test_reject_calls_the_service_audits_and_tells_the_applicant(client, submit, resident, finance_line, finance_staff):
    request = submit(resident, finance_line)
    OutboxMessage.objects.all().delete()
    client.force_login(finance_staff)

    response = _act(client, "reject_with_reason", [request], reason="不属于本服务线的业务范围。")

    assert response.redirect_chain == [(reverse(CHANGELIST), 302)]
    assert _messages(response) == ["1 requests rejected."]
    request.refresh_from_db()
    assert (request.state, request.rejection_reason) == (S.REJECTED, "不属于本服务线的业务范围。")
    event = ServiceRequestEvent.objects.filter(request=request).last()
    assert (event.action, event.by, event.comment) == (
        "teams.service_request.reject",
        finance_staff,
        "不属于本服务线的业务范围。",
    )
    assert AuditEntry.objects.filter(action="teams.service_request.reject", object_id=str(request.pk)).count() == 1
    (mail,) = OutboxMessage.objects.filter(task=MAIL_TASK)
    assert "不属于本服务线的业务范围。" in mail.kwargs["body"]


def test_resolve_calls_the_service_and_opens_the_rating(client, submit, resident, finance_line, finance_staff):
    request = submit(resident, finance_line)
    services.service_request_accept(request=request, by=finance_staff, handler=finance_staff)
    client.force_login(finance_staff)

    page = _act(client, "resolve_with_resolution", [request])
    assert page.status_code == 200 and 'name="resolution"' in page.content.decode()
    assert "“mark as resolved” for these service requests:" in page.content.decode()
    response = _act(client, "resolve_with_resolution", [request], resolution="已对接三家投资机构。")

    assert _messages(response) == ["1 requests resolved."]
    request.refresh_from_db()
    assert (request.state, request.resolution) == (S.RESOLVED, "已对接三家投资机构。")
    assert request.resolved_on is not None and request.auto_close_on > request.resolved_on
    assert AuditEntry.objects.filter(action="teams.service_request.resolve", object_id=str(request.pk)).count() == 1


def test_a_state_that_does_not_allow_it_is_refused_as_a_message_and_the_others_go_ahead(
    client, submit, resident, finance_line, finance_staff
):
    submitted, accepted = submit(resident, finance_line, subject="甲"), submit(resident, finance_line, subject="乙")
    services.service_request_accept(request=accepted, by=finance_staff, handler=finance_staff)
    client.force_login(finance_staff)

    # Reject: only a submitted request; the accepted one is refused and left as it was.
    response = _act(client, "reject_with_reason", [submitted, accepted], reason="不予受理。")
    shown = _messages(response)
    assert "1 requests rejected." in shown
    assert [m for m in shown if "Only a submitted request can be rejected." in m and "乙" in m]
    assert (_state(submitted), _state(accepted)) == (S.REJECTED, S.ACCEPTED)
    assert not ServiceRequestEvent.objects.filter(request=accepted, action="teams.service_request.reject").exists()

    # Resolve: a rejected request is not being worked on; nothing resolved, nothing written.
    response = _act(client, "resolve_with_resolution", [submitted], resolution="已办结。")
    assert [m for m in _messages(response) if "Only a request that is being worked on can be resolved." in m]
    assert not [m for m in _messages(response) if "resolved." in m and m.startswith("1 ")]
    submitted.refresh_from_db()
    assert (submitted.state, submitted.resolution) == (S.REJECTED, "")
    assert not AuditEntry.objects.filter(action="teams.service_request.resolve").exists()


def test_a_lines_staff_cannot_act_on_another_lines_request(
    client, submit, resident, service_lines, finance_line, finance_staff, line_staff
):
    finance_request = submit(resident, finance_line)
    technology = line_staff(service_lines["technology"])
    client.force_login(technology)

    nothing = "None of the selected requests is one you work on."
    page = _act(client, "reject_with_reason", [finance_request])  # not even the intermediate page
    assert page.redirect_chain and _messages(page) == [nothing]
    assert _messages(_act(client, "reject_with_reason", [finance_request], reason="越权")) == [nothing]
    services.service_request_accept(request=finance_request, by=finance_staff, handler=finance_staff)
    assert _messages(_act(client, "resolve_with_resolution", [finance_request], resolution="越权")) == [nothing]
    finance_request.refresh_from_db()
    assert (finance_request.state, finance_request.rejection_reason, finance_request.resolution) == (
        S.ACCEPTED,
        "",
        "",
    )


def test_the_service_refuses_another_lines_staff_even_if_the_request_reaches_the_action(
    rf, submit, resident, service_lines, finance_line, line_staff
):
    """Behind the admin's scoped selection, the service's own line check: the action shows its refusal."""
    from django.contrib import admin
    from django.contrib.messages.storage.fallback import FallbackStorage

    request = submit(resident, finance_line)
    technology = line_staff(service_lines["technology"])
    web = rf.post("/", {"apply": "1", "reason": "越权"})
    web.user, web.session = technology, {}
    web._messages = FallbackStorage(web)
    model_admin = admin.site._registry[ServiceRequest]
    with translation.override("en"):
        model_admin.reject_with_reason(web, ServiceRequest.objects.filter(pk=request.pk))
    shown = [str(m) for m in web._messages]
    assert [m for m in shown if "You work only on the requests of the service lines assigned to you." in m]
    assert _state(request) == S.SUBMITTED


def test_staff_who_do_not_work_requests_are_not_offered_the_actions(client, submit, resident, finance_line, make_user):
    request = submit(resident, finance_line)
    auditor = make_user(roles.AUDITOR)
    client.force_login(auditor)
    response = client.get(reverse(CHANGELIST))
    if response.status_code == 200 and response.context["action_form"] is not None:
        choices = dict(response.context["action_form"].fields["action"].choices)
        assert "reject_with_reason" not in choices and "resolve_with_resolution" not in choices
    _act(client, "reject_with_reason", [request], reason="审计员")
    assert _state(request) == S.SUBMITTED


def test_the_intermediate_page_is_in_chinese_by_default(client, submit, resident, finance_line, finance_staff):
    request = submit(resident, finance_line)
    client.defaults.pop("HTTP_ACCEPT_LANGUAGE")
    client.force_login(finance_staff)
    body = _act(client, "reject_with_reason", [request]).content.decode()
    # The page's words already in the catalogues: the step, the field, the button (the sentence above the list
    # comes with this change's translations, /work/wt-svc-translations.json, once they are merged).
    assert "不予受理" in body and "理由" in body and 'value="确认"' in body


def test_the_changelist_and_the_intermediate_page_run_a_constant_number_of_queries(
    client, submit, resident, finance_line, finance_staff, django_assert_max_num_queries
):
    client.force_login(finance_staff)
    requests = [submit(resident, finance_line, subject=f"请求{i}") for i in range(3)]
    client.get(reverse(CHANGELIST))  # warm-up
    counts = {}
    for size in (3, 30):
        requests += [submit(resident, finance_line, subject=f"请求{i}") for i in range(len(requests), size)]
        with django_assert_max_num_queries(40) as listed:
            assert client.get(reverse(CHANGELIST)).status_code == 200
        with django_assert_max_num_queries(40) as page:
            response = _act(client, "reject_with_reason", requests)
            assert response.status_code == 200 and response.content.decode().count('name="_selected_action"') == size
        counts[size] = (len(listed.captured_queries), len(page.captured_queries))
    assert counts[3] == counts[30]
