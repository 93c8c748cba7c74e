"""The two service pages the load test drives (bench/loadtest.py) run a fixed number of queries whatever the
data: a request's page with 2 or 40 messages and attachments, the line's queue with requests in every state."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from teams import service_requests as services
from tests.factories import PDF_BYTES


def _talk(request, applicant, staff, total):
    """Messages, each with an attachment, up to `total` on the request."""
    for index in range(request.messages.count(), total):
        by = staff if index % 2 == 0 else applicant
        upload = SimpleUploadedFile(f"note{index}.pdf", PDF_BYTES, content_type="application/pdf")
        services.service_request_message(request=request, by=by, body=f"第{index}条消息", uploads=[upload])


@pytest.mark.parametrize("who", ["applicant", "staff"])
def test_request_page_runs_a_constant_number_of_queries(
    client, submit, resident, finance_line, finance_staff, django_assert_max_num_queries, who
):
    request = submit(resident, finance_line)
    services.service_request_accept(request=request, by=finance_staff, handler=finance_staff)
    client.force_login(resident.owner if who == "applicant" else finance_staff)
    url = reverse("teams:service_request_detail", args=[request.pk])
    client.get(url)  # warm-up
    counts = {}
    for total in (2, 40):
        _talk(request, resident.owner, finance_staff, total)
        with django_assert_max_num_queries(40) as page:
            response = client.get(url)
        assert response.status_code == 200 and f"第{total - 1}条消息" in response.content.decode()
        counts[total] = len(page.captured_queries)
    assert counts[2] == counts[40]


def test_queue_runs_a_constant_number_of_queries_over_every_state(
    client, submit, resident, finance_line, finance_staff, django_assert_max_num_queries
):
    def grow(count):
        for index in range(count):
            request = submit(resident, finance_line, subject=f"请求{index}")
            if index % 3 == 0:
                continue
            services.service_request_accept(request=request, by=finance_staff, handler=finance_staff)
            if index % 3 == 1:
                services.service_request_message(request=request, by=finance_staff, body="已收到")
                services.service_request_resolve(request=request, by=finance_staff, resolution="已办结")

    client.force_login(finance_staff)
    url = reverse("teams:service_queue")
    grow(3)
    client.get(url)  # warm-up
    counts = {}
    for size, more in ((3, 0), (45, 42)):
        grow(more)
        with django_assert_max_num_queries(30) as page:
            response = client.get(url)
        assert response.status_code == 200 and len(response.context["page"].object_list) == min(size, 20)
        counts[size] = len(page.captured_queries)
    assert counts[3] == counts[45]
