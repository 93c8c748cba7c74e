"""The service system's doors: the applicant's pages, the line staff's queue, the API. Another applicant's
request is a 404 at every URL and operation; a line's staff never see another line's requests."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from teams import service_requests as services
from teams.service_models import ServiceRequest
from tests.api_support import results, token_client
from tests.factories import PDF_BYTES

S = ServiceRequest.State

PAGE_POSTS = {
    "teams:service_request_message": {"body": "你好"},
    "teams:service_request_rate": {"rating": "5"},
    "teams:service_request_accept": {"handler": ""},
    "teams:service_request_reject": {"reason": "不属于本条线"},
    "teams:service_request_resolve": {"resolution": "已解决"},
}
API_POSTS = {
    "accept": {"handler": "finance-staff@example.cn"},
    "reject": {"reason": "x"},
    "resolve": {"resolution": "x"},
    "message": {"body": "x"},
    "rate": {"rating": 5},
}


@pytest.fixture
def a_request(submit, resident, finance_line, media_root):
    return submit(resident, finance_line, uploads=[SimpleUploadedFile("计划书.pdf", PDF_BYTES)])


def test_the_applicant_asks_and_rates_through_the_pages(client, resident, finance_line, finance_staff, media_root):
    client.force_login(resident.owner)
    response = client.post(
        reverse("teams:service_request_create"),
        {
            "entity": resident.pk,
            "line": finance_line.pk,
            "subject": "申请贷款贴息",
            "details": "请指导申报材料。",
            "preferred_contact": "工作日上午",
            "attachments": [SimpleUploadedFile("a.pdf", PDF_BYTES)],
        },
    )
    request = ServiceRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == request.get_absolute_url()
    assert request.attachments.count() == 1

    staff = client.__class__()
    staff.force_login(finance_staff)
    assert request.subject in staff.get(reverse("teams:service_queue")).content.decode()
    staff.post(reverse("teams:service_request_accept", args=[request.pk]), {"handler": finance_staff.pk})
    staff.post(reverse("teams:service_request_message", args=[request.pk]), {"body": "请补充营业执照。"})
    staff.post(reverse("teams:service_request_resolve", args=[request.pk]), {"resolution": "已办结。"})
    request.refresh_from_db()
    assert request.state == S.RESOLVED

    page = client.get(request.get_absolute_url()).content.decode()
    rate_url = reverse("teams:service_request_rate", args=[request.pk])
    assert "请补充营业执照。" in page and f'action="{rate_url}"' in page
    client.post(reverse("teams:service_request_rate", args=[request.pk]), {"rating": "4", "comment": "及时"})
    request.refresh_from_db()
    assert (request.state, request.rating) == (S.CLOSED, 4)
    # The second rating: refused with a message, the first stands.
    with translation.override("en"):
        response = client.post(
            reverse("teams:service_request_rate", args=[request.pk]),
            {"rating": "1"},
            follow=True,
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 200
    request.refresh_from_db()
    assert request.rating == 4


def test_a_bad_rating_gets_a_message_not_a_500(client, resolved_request):
    client.force_login(resolved_request.entity.owner)
    response = client.post(
        reverse("teams:service_request_rate", args=[resolved_request.pk]), {"rating": "9"}, follow=True
    )
    assert response.status_code == 200
    assert list(response.context["messages"])
    resolved_request.refresh_from_db()
    assert resolved_request.rating is None


def test_another_applicants_request_is_a_404_at_every_url(client, a_request, other_applicant, other_resident):
    client.force_login(other_applicant)
    assert client.get(reverse("teams:service_request_detail", args=[a_request.pk])).status_code == 404
    for name, data in PAGE_POSTS.items():
        assert client.post(reverse(name, args=[a_request.pk]), data).status_code == 404, name
    attachment = a_request.attachments.get()
    assert client.get(reverse("teams:service_attachment_download", args=[attachment.pk])).status_code == 404
    assert a_request.subject not in client.get(reverse("teams:service_request_list")).content.decode()
    assert client.get(reverse("teams:service_queue")).status_code == 404
    ServiceRequest.objects.filter(pk=a_request.pk).update()  # unchanged
    assert ServiceRequest.objects.get(pk=a_request.pk).state == S.SUBMITTED


def test_another_applicants_request_is_a_404_at_every_api_operation(a_request, other_applicant, finance_staff):
    api = token_client(other_applicant)
    assert results(api.get("/api/service-requests/")) == []
    assert api.get(f"/api/service-requests/{a_request.pk}/").status_code == 404
    for name, data in API_POSTS.items():
        assert api.post(f"/api/service-requests/{a_request.pk}/{name}/", data, format="json").status_code == 404, name
    assert ServiceRequest.objects.get(pk=a_request.pk).state == S.SUBMITTED


def test_a_lines_staff_cannot_see_another_lines_requests(client, a_request, service_lines, line_staff):
    technology = line_staff(service_lines["technology"])
    client.force_login(technology)
    assert a_request.subject not in client.get(reverse("teams:service_queue")).content.decode()
    assert client.get(reverse("teams:service_request_detail", args=[a_request.pk])).status_code == 404
    for name, data in PAGE_POSTS.items():
        assert client.post(reverse(name, args=[a_request.pk]), data).status_code == 404, name
    api = token_client(technology)
    assert results(api.get("/api/service-requests/")) == []
    assert api.get(f"/api/service-requests/{a_request.pk}/").status_code == 404
    for name, data in API_POSTS.items():
        assert api.post(f"/api/service-requests/{a_request.pk}/{name}/", data, format="json").status_code == 404, name


def test_the_lines_own_staff_work_it_through_the_api(a_request, finance_staff):
    api = token_client(finance_staff)
    assert [row["id"] for row in results(api.get("/api/service-requests/?line=finance&state=submitted"))] == [
        a_request.pk
    ]
    response = api.post(
        f"/api/service-requests/{a_request.pk}/accept/", {"handler": finance_staff.email}, format="json"
    )
    assert response.status_code == 200 and response.json()["state"] == S.ACCEPTED
    again = api.post(f"/api/service-requests/{a_request.pk}/accept/", {"handler": finance_staff.email}, format="json")
    assert again.status_code == 409
    assert api.post(f"/api/service-requests/{a_request.pk}/rate/", {"rating": 5}, format="json").status_code == 403


def test_the_queue_filters_overdue_oldest_first(client, submit, resident, finance_line, finance_staff):
    import datetime

    from django.utils import timezone

    submit(resident, finance_line, subject="第一")
    second = submit(resident, finance_line, subject="第二")
    today = timezone.localdate()
    ServiceRequest.objects.filter(pk=second.pk).update(
        submitted_on=today - datetime.timedelta(days=9), due_on=today - datetime.timedelta(days=1)
    )
    client.force_login(finance_staff)
    page = client.get(reverse("teams:service_queue")).content.decode()
    assert page.index("第一") < page.index("第二")
    overdue = client.get(reverse("teams:service_queue") + "?overdue=1").content.decode()
    assert "第二" in overdue and "第一" not in overdue


def _grow(count, submit, resident, finance_line, finance_staff):
    for index in range(count):
        request = submit(resident, finance_line, subject=f"请求{index}")
        if index % 2:
            services.service_request_accept(request=request, by=finance_staff, handler=finance_staff)


@pytest.mark.parametrize("who", ["applicant", "staff"])
def test_request_lists_run_a_constant_number_of_queries(
    client, submit, resident, finance_line, finance_staff, django_assert_max_num_queries, who
):
    user = resident.owner if who == "applicant" else finance_staff
    page_url = reverse("teams:service_request_list" if who == "applicant" else "teams:service_queue")
    api = token_client(user)
    _grow(3, submit, resident, finance_line, finance_staff)
    client.force_login(user)
    client.get(page_url)  # warm-up
    counts = {}
    for size in (3, 30):
        if size == 30:
            _grow(27, submit, resident, finance_line, finance_staff)
        with django_assert_max_num_queries(40) as page:
            assert client.get(page_url).status_code == 200
        with django_assert_max_num_queries(40) as listed:
            assert len(results(api.get("/api/service-requests/?page_size=50"))) >= min(size, 20)
        counts[size] = (len(page.captured_queries), len(listed.captured_queries))
    assert counts[3] == counts[30]
