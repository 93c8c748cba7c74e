"""The applicant's view of their application (issue 17, item 4): a step bar in the applicant's words with the
dates to expect and what comes next; the timeline without the handling among staff; the portal's own texts
in the reader's language, on the page and in the mails, whatever language was active when they were written."""

import datetime
import importlib
import re

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext

from funding import messages, selectors, services
from funding.models import Application, ApplicationEvent
from funding.workflow import PUBLIC_STEPS
from tests.factories import PDF_BYTES
from valley.core import calendar
from valley.messaging.outbox import OutboxMessage
from valley.models import CalendarDay

pytestmark = pytest.mark.django_db

S = Application.State


def signed_in(user, language):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def page_of(user, application, language="en") -> str:
    response = signed_in(user, language).get(reverse("funding:detail", args=[application.pk]))
    assert response.status_code == 200
    return response.content.decode()


def current_step(page: str) -> tuple[str, str]:
    """(code, status) of the one step marked aria-current="step"."""
    found = re.findall(r'<li data-step="([a-z_]+)" data-status="([a-z_]+)" aria-current="step">', page)
    assert len(found) == 1, found
    return found[0]


def step_items(page: str) -> list[str]:
    return re.findall(r'<li data-step="([a-z_]+)"', page)


def timeline(page: str) -> str:
    return page[page.index('id="timeline-heading"') :]


@pytest.fixture
def calendar_2026(db):
    CalendarDay.objects.bulk_create(calendar.calendar_2026_days())


# The public step each state stands on, and how: the bar ends where a rejected or withdrawn application stood.
CASES = [
    (S.DRAFT, "draft", "current", "you"),
    (S.SUBMITTED, "submitted", "current", "valley"),
    (S.FORMAL_REVIEW, "formal_review", "current", "valley"),
    (S.EXPERT_REVIEW, "expert_review", "current", "valley"),
    (S.AWAITING_DECISION, "expert_review", "current", "valley"),
    (S.RETURNED, "draft", "current", "you"),
    (S.REJECTED, "expert_review", "ended", ""),
    (S.WITHDRAWN, "submitted", "ended", ""),
    (S.PUBLIC_NOTICE, "public_notice", "current", "valley"),
    (S.REGISTRATION, "agreement", "current", "valley"),
    (S.DISBURSEMENT, "disbursement", "current", "you"),  # the fund-use report on instalment 1 is to be filed
]


@pytest.mark.parametrize(("state", "step", "status", "next_by"), CASES)
def test_the_step_bar_shows_the_public_step_of_each_state(application_in, applicant, state, step, status, next_by):
    application = application_in(state)
    page = page_of(applicant, application)
    assert step_items(page) == [code for code, _label, _states in PUBLIC_STEPS]
    assert current_step(page) == (step, status)
    assert re.findall(r'data-next="([a-z]+)"', page) == ([next_by] if next_by else [])
    # An ordered list: the steps are read in order.
    assert '<ol class="step-bar">' in page


def test_a_recovery_asks_for_the_repayment_and_a_closed_grant_has_every_step_done(
    application_in, applicant, other_applicant, media_root
):
    recovering = application_in(S.RECOVERY)
    page = page_of(applicant, recovering)
    assert current_step(page) == ("disbursement", "current")
    you = re.search(r'data-next="you">(.*?)</p>', page, re.DOTALL).group(1)
    assert "100,000.00" in you  # the whole first instalment is to be repaid
    closed = application_in(S.CLOSED, owner=other_applicant)
    page = page_of(other_applicant, closed)
    assert re.findall(r'data-status="([a-z_]+)"', page) == ["done"] * len(PUBLIC_STEPS)
    assert 'aria-current="step"' not in page and "data-next" not in page


def test_the_step_bar_speaks_the_readers_language(application_in, applicant):
    application = application_in(S.EXPERT_REVIEW)
    for language in ("zh-hans", "en"):
        page = page_of(applicant, application, language)
        bar = page[page.index('class="step-bar"') : page.index('id="documents-heading"')]
        with translation.override(language):
            words = [str(label) for _code, label, _states in PUBLIC_STEPS]
            waiting = gettext("Waiting for the valley:")
        for word in words:
            assert f'<span class="step-name">{word}</span>' in bar, (language, word)
        assert waiting in bar
        # Staff state names stay off the applicant's bar ("awaiting decision" is the staff's word).
        with translation.override(language):
            assert str(S.AWAITING_DECISION.label) not in bar
    # Words the catalogue has in Chinese already: the Chinese page is in Chinese, the English one in English.
    chinese, english = page_of(applicant, application, "zh-hans"), page_of(applicant, application, "en")
    assert "形式审查" in chinese and "Formal review" in english and "形式审查" not in english


def test_the_decision_is_expected_within_the_guides_time_limit_in_working_days(
    application_in, applicant, calendar_2026
):
    application = application_in(S.FORMAL_REVIEW)
    # Submitted on Friday 18 September 2026: 30 working days, skipping the Mid-Autumn and National Day holidays
    # and counting the make-up working days (Sun 20 Sep, Sat 10 Oct), end on Thursday 5 November.
    submitted = timezone.make_aware(datetime.datetime(2026, 9, 18, 10, 0))
    Application.objects.filter(pk=application.pk).update(submitted_at=submitted)
    for language in ("en", "zh-hans"):
        page = page_of(applicant, application, language)
        assert re.search(r'data-step="expert_review".*?data-expected="2026-11-05"', page, re.DOTALL)
        # The notice comes the policy's seven days after the decision.
        assert re.search(r'data-step="public_notice".*?data-expected="2026-11-12"', page, re.DOTALL)
        with translation.override(language):
            decision = date_format(datetime.date(2026, 11, 5), "DATE_FORMAT")
        waiting = re.search(r'data-next="valley">(.*?)</p>', page, re.DOTALL).group(1)
        assert decision in waiting, (language, waiting)


def test_the_public_notice_ends_on_its_date(application_in, applicant):
    notice = application_in(S.PUBLIC_NOTICE)
    page = page_of(applicant, notice)
    assert f'data-expected="{notice.notice_ends_on:%Y-%m-%d}"' in page
    assert re.search(r'data-step="draft" data-status="done"', page)


def test_a_draft_says_how_long_each_step_takes_before_there_is_a_date(application_in, applicant):
    page = page_of(applicant, application_in(S.DRAFT))
    assert "decision within 30 working days of the submission" in page
    assert "7 days after the approval" in page
    assert "data-expected" not in page


def test_during_disbursement_the_applicant_is_told_to_file_the_report_by_its_due_date(application_in, applicant):
    application = application_in(S.DISBURSEMENT)
    report = application.fund_use_reports.get()
    for language in ("en", "zh-hans"):
        page = page_of(applicant, application, language)
        with translation.override(language):
            due = date_format(report.due_on, "DATE_FORMAT")
        you = re.search(r'data-next="you">(.*?)</p>', page, re.DOTALL).group(1)
        assert due in you and "1" in you


# ------------------------------------------------------------------ the portal's texts in the reader's language


def attach_document(application, applicant, title):
    upload = SimpleUploadedFile("plan.pdf", PDF_BYTES, content_type="application/pdf")
    services.application_attach_document(application=application, by=applicant, title=title, upload=upload)


@pytest.mark.parametrize(("written_in", "read_in"), [("zh-hans", "en"), ("en", "zh-hans")])
def test_a_system_comment_is_read_in_the_readers_language(application_in, applicant, media_root, written_in, read_in):
    application = application_in(S.DRAFT)
    with translation.override(written_in):
        attach_document(application, applicant, "商业计划书")
    event = application.events.get(action="funding.application.document_attached")
    assert (event.message, event.params, event.comment) == ("document_attached", {"title": "商业计划书"}, "")
    page = timeline(page_of(applicant, application, read_in))
    english, chinese = "Document attached: 商业计划书", "已添加文件：商业计划书"
    if read_in == "en":
        assert english in page and chinese not in page
    else:
        assert chinese in page and english not in page


def test_instalment_texts_are_rendered_for_each_reader_and_each_half_of_the_mail(application_in, applicant):
    with translation.override("zh-hans"):
        application = application_in(S.DISBURSEMENT)
    event = application.events.get(action="funding.disbursement.recorded")
    assert event.message == "instalment_paid" and event.params["amount"] == "100000.00"
    paid_on = application.disbursements.get().paid_on
    english = timeline(page_of(applicant, application, "en"))
    with translation.override("en"):
        assert f"Instalment 1 of 100,000.00 yuan paid on {date_format(paid_on, 'DATE_FORMAT')}." in english
    assert "拨付。" not in english
    chinese = timeline(page_of(applicant, application, "zh-hans"))
    with translation.override("zh-hans"):
        assert f"第 1 期 100,000.00 元已于 {date_format(paid_on, 'DATE_FORMAT')} 拨付。" in chinese
    # The mail on the payment: its Chinese half in Chinese, its English half in English.
    mail = next(
        m.kwargs["body"]
        for m in OutboxMessage.objects.order_by("-pk")
        if "100,000.00" in m.kwargs.get("body", "") and "Instalment 1" in m.kwargs.get("body", "")
    )
    chinese_half, english_half = mail.split("\n----\n")
    assert "第 1 期 100,000.00 元" in chinese_half and "Instalment 1 of 100,000.00 yuan" not in chinese_half
    assert "Instalment 1 of 100,000.00 yuan" in english_half and "第 1 期" not in english_half


def test_staff_comments_stay_as_typed_and_the_acceptance_keeps_its_reasons(
    application_in, applicant, people, media_root
):
    from funding import post_award
    from funding.demo import file_report

    application = application_in(S.DISBURSEMENT)
    file_report(application, people, accept=True)
    services.application_disburse(
        application=application, by=people["finance"], paid_on=timezone.localdate(), reference="P-2"
    )
    file_report(application, people, accept=True)
    with translation.override("zh-hans"):
        post_award.acceptance_record(
            application=application,
            by=people["approver"],
            result="passed",
            reasons="验收合格",
            accepted_on=timezone.localdate(),
        )
    event = application.events.get(action="funding.acceptance.recorded")
    assert (event.message, event.params, event.comment) == ("acceptance_recorded", {"result": "passed"}, "验收合格")
    assert "Final acceptance: passed. 验收合格" in timeline(page_of(applicant, application, "en"))
    with translation.override("zh-hans"):
        said = messages.render("acceptance_recorded", {"result": "passed"})
    assert "通过" in said  # the result in the reader's words, whatever the catalogue says around it
    assert f"{said} 验收合格" in timeline(page_of(applicant, application, "zh-hans"))


def test_an_unknown_code_or_bad_parameters_never_break_the_page(application_in, applicant):
    application = application_in(S.DRAFT)
    ApplicationEvent.objects.bulk_create(
        [
            ApplicationEvent(application=application, action="x", to_state=S.DRAFT, message="from_the_future"),
            ApplicationEvent(
                application=application, action="x", to_state=S.DRAFT, message="instalment_paid", params={"date": "x"}
            ),
        ]
    )
    page = timeline(page_of(applicant, application))
    assert "from_the_future" in page
    assert messages.render("repayment_received", {"amount": "12.5", "date": "2026-12-01"}).startswith(
        "Repayment of 12.50 yuan received on"
    )


def test_the_migration_turns_the_comments_it_recognises_into_codes(application_in):
    migration = importlib.import_module("funding.migrations.0009_event_messages_as_codes")
    application = application_in(S.DRAFT)
    rows = [
        ("funding.application.document_attached", "已添加文件：商业计划书"),
        ("funding.application.document_detached", "Document removed: Budget 2026"),
        ("funding.disbursement.recorded", "第 2 期 250,000.00 元已于 2026-11-02 拨付。"),
        ("funding.disbursement.recorded", "Instalment 3 of 150,000.00 yuan paid on 2026-12-08."),
        ("funding.application.close", "批准金额已全部拨付。"),
        ("funding.acceptance.recorded", "结题验收：通过。验收合格，按期完成。"),
        ("funding.acceptance.recorded", "Final acceptance: failed. Pilot line never built."),
        ("funding.repayment.recorded", "已于 2026-10-09 收到退回款 1,000.00 元。"),
        ("funding.application.complete_recovery", "The recovery order has been repaid."),
        # What staff typed stays: a text of another row's kind, and a text the portal never writes.
        ("funding.application.reject", "The approved amount has been paid in full."),
        ("funding.application.return_for_changes", "请补充预算明细。"),
    ]
    events = ApplicationEvent.objects.bulk_create(
        ApplicationEvent(application=application, action=action, to_state=S.DRAFT, comment=text)
        for action, text in rows
    )
    migration.to_codes(apps, None)
    found = {
        e.pk: (e.message, e.params, e.comment) for e in ApplicationEvent.objects.filter(pk__in=[e.pk for e in events])
    }
    assert [found[e.pk] for e in events] == [
        ("document_attached", {"title": "商业计划书"}, ""),
        ("document_removed", {"title": "Budget 2026"}, ""),
        ("instalment_paid", {"number": 2, "amount": "250000.00", "date": "2026-11-02"}, ""),
        ("instalment_paid", {"number": 3, "amount": "150000.00", "date": "2026-12-08"}, ""),
        ("paid_in_full", {}, ""),
        ("acceptance_recorded", {"result": "passed"}, "验收合格，按期完成。"),
        ("acceptance_recorded", {"result": "failed"}, "Pilot line never built."),
        ("repayment_received", {"amount": "1000.00", "date": "2026-10-09"}, ""),
        ("recovery_repaid", {}, ""),
        ("", {}, "The approved amount has been paid in full."),
        ("", {}, "请补充预算明细。"),
    ]
    with translation.override("en"):
        assert ApplicationEvent.objects.get(pk=events[2].pk).text.startswith("Instalment 2 of 250,000.00 yuan paid on")
    # Back again: the texts in Chinese, as they were stored.
    migration.to_texts(apps, None)
    assert ApplicationEvent.objects.get(pk=events[0].pk).comment == "已添加文件：商业计划书"


# ------------------------------------------------------------------ what the applicant sees of the history


def test_applicants_do_not_see_the_handling_among_staff_and_staff_see_everything(application_in, applicant, people):
    application = application_in(S.PUBLIC_NOTICE)  # walked through a reviewer's assignment and review
    services.application_record_objection(application=application, by=people["approver"], objection="实名举报")
    staff_only = ("funding.review.assigned", "funding.review.submitted", "funding.application.objection_recorded")
    mine = timeline(page_of(applicant, application))
    theirs = timeline(page_of(people["approver"], application))
    for action in staff_only:
        assert f'data-action="{action}"' not in mine, action
        assert f'data-action="{action}"' in theirs, action
    assert "实名举报" not in mine and "实名举报" in theirs
    # Every row the applicant sees says something: a move, or a text.
    shown = selectors.events_for(applicant, application.events.all())
    assert all(e.from_state != e.to_state or e.text for e in shown)
    assert (
        shown.count()
        < application.events.count()
        == selectors.events_for(people["approver"]).filter(application=application).count()
    )


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_timeline_names_each_move_in_the_applicants_words_and_the_workflows_for_staff(
    application_in, applicant, people, language
):
    application = application_in(S.PUBLIC_NOTICE)
    mine = timeline(page_of(applicant, application, language))
    theirs = timeline(page_of(people["approver"], application, language))
    with translation.override(language):
        for state in (S.FORMAL_REVIEW, S.EXPERT_REVIEW, S.AWAITING_DECISION):
            staff_word = str(Application.State(state).label)
            assert f"<strong>{staff_word}</strong>" not in mine, staff_word
            assert f"<strong>{staff_word}</strong>" in theirs, staff_word
        assert f"<strong>{gettext('under review')}</strong>" in mine
        assert f"<strong>{gettext('approved (public notice)')}</strong>" in mine


def test_the_grant_page_history_shows_the_portals_messages_to_the_applicant(application_in, applicant):
    with translation.override("zh-hans"):
        application = application_in(S.DISBURSEMENT)
    page = signed_in(applicant, "en").get(reverse("funding:grant", args=[application.pk])).content.decode()
    assert "Instalment 1 of 100,000.00 yuan paid on" in page


def _count(client, url, django_assert_max_num_queries, limit=80):
    with django_assert_max_num_queries(limit) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_the_detail_page_takes_a_fixed_number_of_queries(
    application_in, applicant, people, media_root, django_assert_max_num_queries
):
    application = application_in(S.EXPERT_REVIEW)
    owner, reviewer = signed_in(applicant, "en"), signed_in(people["reviewer"], "en")
    url = reverse("funding:detail", args=[application.pk])
    for client in (owner, reviewer):  # warm-up (a session's first request also records when it began)
        _count(client, url, django_assert_max_num_queries)
    small = [_count(c, url, django_assert_max_num_queries) for c in (owner, reviewer)]
    ApplicationEvent.objects.bulk_create(
        [
            *(
                ApplicationEvent(
                    application=application,
                    action="funding.application.document_attached",
                    from_state=S.EXPERT_REVIEW,
                    to_state=S.EXPERT_REVIEW,
                    message="instalment_paid",
                    params={"number": i, "amount": "1.00", "date": "2026-12-01"},
                    by=applicant,
                )
                for i in range(10)
            ),
            *(
                ApplicationEvent(
                    application=application,
                    action="funding.review.assigned",
                    from_state=S.EXPERT_REVIEW,
                    to_state=S.EXPERT_REVIEW,
                    internal_note=f"内部{i}",
                    by=people["reviewer"],
                )
                for i in range(10)
            ),
        ]
    )
    large = [
        _count(c, url, django_assert_max_num_queries, limit) for c, limit in zip((owner, reviewer), small, strict=True)
    ]
    assert large == small


def test_no_service_writes_a_translated_text_into_a_comment():
    """A comment written from a translated text would be stored in the language active at the time: the
    portal's texts go through funding.messages instead (system_message), rendered when read."""
    from pathlib import Path

    import funding

    written = re.compile(r"comment\s*=\s*(?:lambda[^:]*:\s*)?\(?\s*(?:_|gettext|gettext_lazy|pgettext)\(")
    offenders = [
        f"{path.name}:{number}"
        for path in sorted(Path(funding.__file__).parent.glob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if written.search(line)
    ]
    assert offenders == []
