"""The grant after the money as its holder sees it: the grant's page (agreement, plan, what is due, reports,
acceptance, recovery, messages) and the fund-use report's page (filed by the holder, decided by finance)."""

import datetime
import html
import re
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from funding import post_award, services
from funding.demo import file_report
from funding.models import Application, ApplicationEvent, FundUseReport
from tests.factories import PDF_BYTES
from valley.core.calendar import working_days_between

pytestmark = pytest.mark.django_db

R = FundUseReport.State


@pytest.fixture
def grant(application_in, people, budget):
    """A grant of 500,000.00 yuan with instalment 1 (100,000.00) paid, its report a draft, two milestones."""
    app = application_in("disbursement", amount=D("500000.00"))
    today = timezone.localdate()
    services.agreement_amend_milestones(
        agreement=app.agreement,
        by=people["registration"],
        milestones=[
            {"title": "中试线建成", "due_on": today + datetime.timedelta(days=120)},
            {"title": "首批销售", "due_on": today + datetime.timedelta(days=300)},
        ],
        reason="补录里程碑",
    )
    return Application.objects.get(pk=app.pk)


@pytest.fixture
def report(grant):
    return grant.fund_use_reports.get()


def signed_in(user, language="en"):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def report_data(spent, lines, *, rows=3, action="save", progress=None, summary="采购中试设备"):
    """What the report form posts: `lines` are (category, amount, description), in `rows` rows."""
    data = {
        "spent": spent,
        "summary": summary,
        "lines-TOTAL_FORMS": str(max(rows, len(lines))),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "200",
        "action": action,
        **{f"progress_{order}": text for order, text in (progress or {}).items()},
    }
    for index, (category, amount, description) in enumerate(lines):
        data.update(
            {
                f"lines-{index}-category": category,
                f"lines-{index}-amount": amount,
                f"lines-{index}-description": description,
            }
        )
    return data


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def error_at(page: str, field_id: str) -> str:
    found = re.search(rf'<p class="error" id="{re.escape(field_id)}_error">([^<]*)</p>', page)
    return found.group(1) if found else ""


def lines_errors(page: str) -> str:
    found = re.search(r"<div[^>]*data-lines-errors>(.*?)</div>", page, re.S)
    return found.group(1) if found else ""


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# ------------------------------------------------------------------ filing a report


def test_the_holder_files_a_report_through_the_pages_and_finance_accepts_it(grant, report, applicant, people):
    owner = signed_in(applicant)
    page = text_of(owner.get(reverse("funding:report", args=[report.pk])))
    assert 'id="report-form"' in page and 'name="lines-TOTAL_FORMS" value="3"' in page
    assert "中试线建成" in page and "首批销售" in page  # a progress field per milestone

    typed = report_data(
        "100,000.00",
        [("equipment", "60000", "中试设备"), ("testing", "40,000.00", "中试")],
        progress={1: "设备已到货", 2: "洽谈首批客户"},
    )
    response = owner.post(reverse("funding:report", args=[report.pk]), typed)
    assert response.status_code == 302
    report.refresh_from_db()
    assert (report.spent, report.summary, report.state) == (D("100000.00"), "采购中试设备", R.DRAFT)
    assert sorted((line.category, line.amount) for line in report.lines.all()) == [
        ("equipment", D("60000.00")),
        ("testing", D("40000.00")),
    ]
    assert [(p.milestone, p.progress) for p in report.progress.all()] == [
        ("中试线建成", "设备已到货"),
        ("首批销售", "洽谈首批客户"),
    ]
    page = text_of(owner.get(reverse("funding:report", args=[report.pk])))
    assert 'value="60,000.00"' in page and "设备已到货" in page  # the saved report comes back in the form

    upload = SimpleUploadedFile("invoice.pdf", PDF_BYTES, content_type="application/pdf")
    response = owner.post(
        reverse("funding:report_attach_document", args=[report.pk]), {"title": "设备发票", "file": upload}
    )
    assert response.status_code == 302
    assert [d.title for d in report.documents.all()] == ["设备发票"]

    response = owner.post(reverse("funding:report", args=[report.pk]), {**typed, "action": "submit"}, follow=True)
    assert messages_of(response)[-1] == "The report is submitted. Finance will review it."
    report.refresh_from_db()
    assert report.state == R.SUBMITTED
    page = text_of(response)
    assert 'id="report-form"' not in page and "Accept the report" not in page  # read-only for its holder now
    assert "¥100,000.00" in page and "设备发票" in page

    finance = signed_in(people["finance"])
    page = text_of(finance.get(reverse("funding:report", args=[report.pk])))
    assert "Accept the report" in page and 'id="report-form"' not in page
    response = finance.post(
        reverse("funding:report_decide", args=[report.pk]), {"decision": "accept", "comment": "已核实"}, follow=True
    )
    assert messages_of(response) == ["Saved. The report is now “accepted”."]
    assert FundUseReport.objects.get(pk=report.pk).state == R.ACCEPTED
    page = text_of(response)
    assert "Accept the report" not in page and "已核实" in page  # the decision is in the report's history

    grant_page = text_of(owner.get(reverse("funding:grant", args=[grant.pk])))
    assert re.search(r'data-instalment="2">.*?Ready to be released by finance\.', grant_page, re.S)


def test_finance_returns_a_report_only_with_a_comment(report, applicant, people):
    file_report(Application.objects.get(pk=report.application_id), people)
    finance = signed_in(people["finance"])
    url = reverse("funding:report_decide", args=[report.pk])
    response = finance.post(url, {"decision": "return", "comment": "  "})
    assert response.status_code == 200
    assert error_at(text_of(response), "id_comment") == "Write a comment for the applicant: it says what to change."
    assert FundUseReport.objects.get(pk=report.pk).state == R.SUBMITTED

    finance.post(url, {"decision": "return", "comment": "请补充中试合同。"})
    assert FundUseReport.objects.get(pk=report.pk).state == R.RETURNED
    page = text_of(signed_in(applicant).get(reverse("funding:report", args=[report.pk])))
    assert "请补充中试合同。" in page and 'id="report-form"' in page  # editable again, with what to change


def test_a_refused_submit_is_a_message_and_the_typed_report_is_saved(report, applicant):
    owner = signed_in(applicant)
    typed = report_data("1000", [("rent", "1000", "房租")], action="submit")
    response = owner.post(reverse("funding:report", args=[report.pk]), typed, follow=True)
    assert response.status_code == 200
    assert messages_of(response) == [
        "Saved, but not submitted: Attach the invoices and contracts of the spend before submitting."
    ]
    report.refresh_from_db()
    assert (report.state, report.spent) == (R.DRAFT, D("1000.00"))


def test_add_a_row_keeps_what_was_typed_and_saves_nothing(report, applicant):
    owner = signed_in(applicant)
    typed = report_data("70000", [("equipment", "12 万", "设备"), ("", "", ""), ("rent", "5000", "")])
    typed["add_row"] = "1"
    page = text_of(owner.post(reverse("funding:report", args=[report.pk]), typed))
    # The two rows typed, the empty one and one more; no message yet, even for the amount that is not one.
    assert 'name="lines-TOTAL_FORMS" value="4"' in page
    assert 'value="12 万"' in page and 'value="设备"' in page and 'value="70000"' in page
    assert 'class="error"' not in page
    report.refresh_from_db()
    assert (report.spent, report.lines.count()) == (D("0.00"), 0)


def test_a_row_can_be_removed(report, applicant):
    owner = signed_in(applicant)
    typed = report_data("1000", [("rent", "1000", "房租"), ("materials", "500", "材料")])
    typed["lines-1-DELETE"] = "on"
    assert owner.post(reverse("funding:report", args=[report.pk]), typed).status_code == 302
    assert [line.category for line in report.lines.all()] == ["rent"]


# What the holder types wrong, where the page says so, in both languages.
REFUSALS = {
    "lines that do not add up": (
        report_data("60000", [("equipment", "50000", "中试设备")]),
        "lines",
        {
            "en": "The expense lines add up to 50,000.00 yuan, not the 60,000.00 yuan reported as spent.",
            "zh-hans": "支出明细合计 50,000.00 元，与填报的累计支出 60,000.00 元不符。",
        },
        ['value="60000"', 'value="50000"', 'value="中试设备"'],
    ),
    "a spend above the disbursed": (
        report_data("100,000.01", [("equipment", "100000.01", "中试设备")]),
        "id_spent",
        {
            "en": "The spend of 100,000.01 yuan is more than the 100,000.00 yuan disbursed so far.",
            "zh-hans": "支出 100,000.01 元超过了截至目前已拨付的 100,000.00 元。",
        },
        ['value="100,000.01"', 'value="100000.01"'],
    ),
    "an amount that is not one": (
        report_data("12000", [("equipment", "1.2万", "中试设备")]),
        "id_lines-0-amount",
        {
            "en": "“1.2万” is not an amount. Use digits, optionally with thousands commas and two decimals, "
            "for example 500,000.00.",
            "zh-hans": "“1.2万”不是有效金额。请使用数字，可带千位逗号和两位小数，例如 500,000.00。",
        },
        ['value="12000"', 'value="1.2万"', 'value="中试设备"'],
    ),
}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_refusal_stands_next_to_its_field_keeps_what_was_typed_and_saves_nothing(report, applicant, case, language):
    typed, where, message, kept = REFUSALS[case]
    typed = {**typed, "progress_1": "设备已到货"}
    response = signed_in(applicant, language).post(reverse("funding:report", args=[report.pk]), typed)
    assert response.status_code == 200
    page = text_of(response)
    shown = lines_errors(page) if where == "lines" else error_at(page, where)
    assert message[language] in shown, page
    for value in [*kept, "设备已到货", "采购中试设备"]:
        assert value in page
    report.refresh_from_db()
    assert (report.spent, report.summary, report.lines.count(), report.progress.count()) == (D("0.00"), "", 0, 0)


def test_a_file_that_is_not_a_document_is_refused_next_to_the_field(report, applicant):
    upload = SimpleUploadedFile("invoice.pdf", b"MZ not a pdf", content_type="application/pdf")
    response = signed_in(applicant).post(
        reverse("funding:report_attach_document", args=[report.pk]), {"title": "发票", "file": upload}
    )
    assert response.status_code == 200
    assert error_at(text_of(response), "id_file")
    assert not report.documents.exists()


def test_the_holder_detaches_a_document(report, applicant):
    document = post_award.report_attach_document(
        report=report, by=applicant, title="合同", upload=SimpleUploadedFile("c.pdf", PDF_BYTES, "application/pdf")
    )
    owner = signed_in(applicant)
    response = owner.post(reverse("funding:report_detach_document", args=[report.pk, document.pk]))
    assert response.status_code == 302 and not report.documents.exists()
    assert "Document removed: 合同" in text_of(owner.get(reverse("funding:report", args=[report.pk])))


# ------------------------------------------------------------------ who may see and do what


def test_another_applicants_grant_and_report_are_not_found(grant, report, other_applicant, applicant):
    document = post_award.report_attach_document(
        report=report, by=applicant, title="合同", upload=SimpleUploadedFile("c.pdf", PDF_BYTES, "application/pdf")
    )
    stranger = signed_in(other_applicant)
    for method, url in [
        ("get", reverse("funding:grant", args=[grant.pk])),
        ("get", reverse("funding:report", args=[report.pk])),
        ("post", reverse("funding:report", args=[report.pk])),
        ("post", reverse("funding:report_attach_document", args=[report.pk])),
        ("post", reverse("funding:report_detach_document", args=[report.pk, document.pk])),
        ("post", reverse("funding:report_decide", args=[report.pk])),
    ]:
        assert getattr(stranger, method)(url).status_code == 404, (method, url)
    assert report.documents.exists()


def test_staff_read_the_report_but_do_not_file_it(report, auditor, people):
    for user in (auditor, people["finance"]):
        client = signed_in(user)
        page = text_of(client.get(reverse("funding:report", args=[report.pk])))
        assert 'id="report-form"' not in page
        typed = report_data("1000", [("rent", "1000", "")])
        assert client.post(reverse("funding:report", args=[report.pk]), typed).status_code == 403
    assert signed_in(auditor).post(reverse("funding:report_decide", args=[report.pk])).status_code == 403
    assert FundUseReport.objects.get(pk=report.pk).spent == D("0.00")


def test_an_application_without_an_agreement_has_no_grant_page(application_in, applicant):
    app = application_in("awaiting_decision")
    owner = signed_in(applicant)
    assert owner.get(reverse("funding:grant", args=[app.pk])).status_code == 404
    assert "data-grant-link" not in text_of(owner.get(reverse("funding:detail", args=[app.pk])))


# ------------------------------------------------------------------ the grant's page


def test_the_grant_page_shows_the_agreement_the_plan_and_what_is_due(grant, report, applicant, people):
    # Overdue: due 30 days ago, still a draft.
    FundUseReport.objects.filter(pk=report.pk).update(due_on=timezone.localdate() - datetime.timedelta(days=30))
    late = working_days_between(timezone.localdate() - datetime.timedelta(days=30), timezone.localdate())
    owner = signed_in(applicant)
    for url in (reverse("funding:detail", args=[grant.pk]), reverse("funding:mine")):
        assert reverse("funding:grant", args=[grant.pk]) in text_of(owner.get(url))
    page = text_of(owner.get(reverse("funding:grant", args=[grant.pk])))
    assert "¥500,000.00" in page and "中试线建成" in page and "首批销售" in page
    rows = dict(re.findall(r'data-instalment="(\d)">(.*?)</tr>', page, re.S))
    paid_on = grant.disbursements.get().paid_on
    assert "20.00%" in rows["1"] and "¥100,000.00" in rows["1"] and "paid on" in rows["1"]
    assert paid_on.strftime("%Y") in rows["1"]
    assert "next" in rows["2"] and "report on instalment 1 is accepted" in rows["2"] and "¥250,000.00" in rows["2"]
    assert "Waiting for the fund-use report on instalment 2 to be accepted and for the final acceptance" in rows["3"]
    due = re.search(r"<p data-due>(.*?)</p>", page, re.S).group(1)
    assert reverse("funding:report", args=[report.pk]) in due and f"{late} working days late" in due
    report_page = text_of(owner.get(reverse("funding:report", args=[report.pk])))
    assert f"{late} working days late" in report_page


def test_the_grant_page_in_chinese(grant, applicant):
    page = text_of(signed_in(applicant, "zh-hans").get(reverse("funding:grant", args=[grant.pk])))
    assert "资助协议" in page and "¥500,000.00" in page and "第 1 期拨付的资金使用情况报告" in page
    # The messages are stored as their writers wrote them (here the services, in English); the page's own words
    # are all Chinese.
    own_words = re.sub(r"<ol class=\"timeline\" data-messages>.*?</ol>", "", page, flags=re.S)
    assert not re.search(r">[^<]*\b(Instalment|Fund-use|report|next|paid on|Waiting)\b", own_words), own_words


def test_the_grant_page_shows_the_recovery_and_the_messages_newest_first(grant, applicant, people):
    post_award.recovery_open(
        application=grant, by=people["finance"], reason="misuse", explanation="资金挪作他用", amount=D("80000")
    )
    post_award.recovery_repay(
        application=grant, by=people["finance"], amount=D("30000"), paid_on=timezone.localdate(), reference="HK-1"
    )
    page = text_of(signed_in(applicant).get(reverse("funding:grant", args=[grant.pk])))
    recovery = re.search(r"data-recovery=\"open\">(.*?)</section>", page, re.S).group(1)
    assert "¥80,000.00" in recovery and "¥50,000.00" in recovery and "HK-1" in recovery and "资金挪作他用" in recovery
    messages = re.search(r"<ol class=\"timeline\" data-messages>(.*?)</ol>", page, re.S).group(1)
    assert messages.index("资金挪作他用") < messages.index("同意资助。")  # newest first
    rows = dict(re.findall(r'data-instalment="(\d)">(.*?)</tr>', page, re.S))
    assert "only while the grant is being paid out" in rows["2"]


def test_the_grant_page_shows_the_final_acceptance(grant, people, applicant):
    file_report(grant, people, accept=True)
    services.application_disburse(
        application=grant, by=people["finance"], paid_on=timezone.localdate(), reference="P-2"
    )
    file_report(Application.objects.get(pk=grant.pk), people, accept=True)
    post_award.acceptance_record(
        application=grant,
        by=people["approver"],
        result="passed",
        reasons="里程碑均已完成",
        accepted_on=timezone.localdate(),
    )
    page = text_of(signed_in(applicant).get(reverse("funding:grant", args=[grant.pk])))
    assert 'data-acceptance="passed"' in page and "里程碑均已完成" in page
    rows = dict(re.findall(r'data-instalment="(\d)">(.*?)</tr>', page, re.S))
    assert "paid on" in rows["2"] and "Ready to be released by finance." in rows["3"]
    assert "No fund-use report is open" in page


# ------------------------------------------------------------------ a fixed number of queries


def _count(client, url, django_assert_max_num_queries, limit=80):
    with django_assert_max_num_queries(limit) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_the_grant_page_takes_a_fixed_number_of_queries(grant, applicant, people, django_assert_max_num_queries):
    owner, finance = signed_in(applicant), signed_in(people["finance"])
    url = reverse("funding:grant", args=[grant.pk])
    for client in (owner, finance):  # warm-up (a session's first request also records when it began)
        _count(client, url, django_assert_max_num_queries)
    small = [_count(c, url, django_assert_max_num_queries) for c in (owner, finance)]
    # One report accepted and a second instalment paid (its report open), more comments in the history.
    file_report(grant, people, accept=True)
    services.application_disburse(
        application=grant, by=people["finance"], paid_on=timezone.localdate(), reference="P-2"
    )
    ApplicationEvent.objects.bulk_create(
        ApplicationEvent(application=grant, action="funding.test.note", to_state=grant.state, comment=f"留言{i}")
        for i in range(10)
    )
    large = [
        _count(c, url, django_assert_max_num_queries, limit) for c, limit in zip((owner, finance), small, strict=True)
    ]
    assert large == small
    assert Application.objects.get(pk=grant.pk).fund_use_reports.count() == 2


def test_the_report_page_takes_a_fixed_number_of_queries(report, applicant, people, django_assert_max_num_queries):
    owner, finance = signed_in(applicant), signed_in(people["finance"])
    url = reverse("funding:report", args=[report.pk])
    post_award.report_save(
        report=report, by=applicant, spent="100", summary="", lines=[{"category": "rent", "amount": "100"}]
    )
    for client in (owner, finance):  # warm-up (a session's first request also records when it began)
        _count(client, url, django_assert_max_num_queries)
    small = [_count(c, url, django_assert_max_num_queries) for c in (owner, finance)]
    post_award.report_save(
        report=report,
        by=applicant,
        spent="2000",
        summary="",
        lines=[{"category": "rent", "amount": "100", "description": f"第{i}月"} for i in range(20)],
        progress={1: "进展", 2: "进展"},
    )
    for index in range(5):
        post_award.report_attach_document(
            report=report, by=applicant, title=f"发票{index}", upload=SimpleUploadedFile("i.pdf", PDF_BYTES)
        )
    large = [
        _count(c, url, django_assert_max_num_queries, limit) for c, limit in zip((owner, finance), small, strict=True)
    ]
    assert large == small
