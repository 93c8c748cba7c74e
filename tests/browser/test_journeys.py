"""The three user journeys in Chromium, once in Chinese and once in English, against the live server with
PostgreSQL and a real Celery worker. Each key page is screenshotted and checked with axe-core.

Steps that another role takes inside a journey (staff deciding in the applicant's journey, the applicant
applying in the staff journey) go through the services: the browser is for the journey's own user."""

import csv
import datetime
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from funding import services as funding_services
from funding.models import Application, ExpertReview, FundUseReport
from teams import services as teams_services
from teams.demo import demo_uscc
from teams.models import Entity
from tests.auth_helpers import second_factor_device, totp_code
from tests.browser.conftest import LANGUAGES, confirmation_path
from tests.conftest import wait_for
from tests.factories import PDF_BYTES, FocusAreaFactory, FundFactory, InstitutionFactory, InvestmentFactory
from tolerance.services import compliance_check_run
from valley.core import roles

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]
S = Application.State
PASSWORD = "Jinchuang-gu-2026!"
CONFIRMED_STEPS = {"reject", "return_for_changes", "revoke", "withdraw"}


def state_of(application_id):
    return Application.objects.values_list("state", flat=True).get(pk=application_id)


def field(page, name):
    """The form field `name` with everything shown next to it (label, help, errors)."""
    return page.locator(f".field:has([name='{name}'])")


# ------------------------------------------------------------------ applicant


@pytest.mark.parametrize("language", LANGUAGES)
def test_applicant_signs_up_applies_answers_a_return_and_sees_the_approval(
    language, visit, celery_worker_process, mail_dir, budget, people, provincial_staff
):
    institution = InstitutionFactory(name_zh="太原理工大学", name_en="Taiyuan University of Technology")
    FocusAreaFactory()
    me = visit(language, "applicant")
    page = me.page
    address = f"founder-{language}@example.cn"

    page.goto("/")
    me.look("home")

    # Sign up; a mistyped second password is reported next to that field and nothing typed is lost.
    page.goto(reverse("signup"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans" if language == "zh-hans" else "en")
    page.fill("[name=email]", address)
    page.fill("[name=first_name]", "海燕")
    page.fill("[name=last_name]", "李")
    page.fill("[name=password1]", PASSWORD)
    page.fill("[name=password2]", PASSWORD + "x")
    page.locator("main button[type=submit]").click()
    expect(field(page, "password2").locator(".error")).to_have_text(
        me.t("The two passwords differ. Type the same password twice.")
    )
    expect(page.locator("[name=email]")).to_have_value(address)
    me.look("signup-error")
    page.fill("[name=password1]", PASSWORD)
    page.fill("[name=password2]", PASSWORD)
    page.check("[name=accept_privacy]")
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/done/$"))
    me.look("signup-done")

    # Until the address is confirmed the team list says so and what to do.
    page.goto(reverse("teams:entity_list"))
    expect(page.locator(".message.warning")).to_be_visible()
    me.look("teams-unconfirmed")

    # The worker mails the confirmation link; opening it confirms the address.
    link = wait_for(lambda: confirmation_path(mail_dir, address), timeout=60, what="the confirmation mail")
    page.goto(link)
    expect(page.locator(".message.success")).to_contain_text(address)
    expect(page.locator(".message.warning")).to_have_count(0)
    expect(page.locator("main .empty")).to_have_text(
        me.t(
            "You have no team or startup yet. Create its profile with “New team or startup”; once staff select it "
            "into a sub-venue, you can apply for the start-up fund."
        )
    )
    me.look("teams-empty")

    # The startup profile.
    page.locator("main a[href$='/teams/new/']").click()
    page.select_option("[name=kind]", Entity.Kind.RESEARCH_TEAM)
    page.fill("[name=name_zh]", "煤基新材料中试团队")
    page.fill("[name=name_en]", "Coal-based Materials Pilot Team")
    page.select_option("[name=institution]", str(institution.pk))
    page.select_option("[name=focus_area]", index=1)
    page.fill("[name=summary]", "煤基碳材料从实验室走向中试。")
    page.fill("[name=contact_email]", address)
    me.look("entity-form")
    page.locator("main button[type=submit]").click()
    expect(page.locator("main h1")).to_contain_text(
        "煤基新材料中试团队" if language == "zh-hans" else "Coal-based Materials Pilot Team"
    )
    me.look("entity-detail")
    entity = Entity.objects.get(contact_email=address)

    # Staff select the team into the sub-venue (their own pages; not this journey's user).
    residency = teams_services.residency_select(entity=entity, sub_venue=budget.sub_venue, by=provincial_staff)
    teams_services.residency_enter(residency=residency, by=provincial_staff)

    # No application yet: the empty state says how to start one.
    page.goto(reverse("funding:mine"))
    expect(page.locator("main .empty")).to_have_text(
        me.t(
            "You have no applications yet. Start one with “New application”: you can save a draft and submit it later."
        )
    )
    me.look("applications-empty")

    # Apply: an amount over the limit is refused next to the amount field, then corrected.
    page.locator("main a[href$='/funding/new/']").click()
    page.select_option("[name=entity]", str(entity.pk))
    page.fill("[name=amount]", "1,000,000.01")
    page.fill("[name=purpose]", "中试线建设")
    page.fill("[name=plan]", "建设一条中试线，验证工艺后注册公司。")
    page.locator("main button[type=submit]").click()
    expect(field(page, "amount").locator(".error")).to_be_visible()
    expect(field(page, "amount")).to_have_class(re.compile("has-error"))
    expect(page.locator("[name=amount]")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("[name=amount]")).to_have_attribute("aria-describedby", re.compile(r"\bid_amount_error\b"))
    expect(page.locator("[name=plan]")).to_have_value("建设一条中试线，验证工艺后注册公司。")
    me.look("application-form-error")
    page.fill("[name=amount]", "800,000")
    page.locator("main button[type=submit]").click()
    expect(page.locator(".message.success")).to_have_text(
        me.t("The draft is saved. Check it, then submit it when it is complete.")
    )
    application = Application.objects.get(entity=entity)
    expect(page.locator("main .facts")).to_contain_text("¥800,000.00")
    me.look("application-draft")
    page.locator("main button[data-step-name=submit]").click()
    expect(page.locator("main .badge[data-state]")).to_have_attribute("data-state", S.SUBMITTED)

    # Formal review returns it for changes.
    applicant_people = {**people, "applicant": entity.owner}
    app = funding_services.application_act(application=application, name="start_formal_review", by=people["reviewer"])
    funding_services.application_act(
        application=app, name="return_for_changes", by=people["reviewer"], comment="请补充中试预算明细。"
    )

    # The applicant sees why, edits and resubmits with an answer.
    page.goto(reverse("funding:mine"))
    page.locator(f"main a[href$='/funding/{application.pk}/']").click()
    expect(page.locator("main .badge[data-state]")).to_have_attribute("data-state", S.RETURNED)
    returned = page.locator("main [data-returned]")
    expect(returned).to_contain_text(
        me.t("Staff returned the application for changes. Edit it as they ask, then submit it again:")
    )
    expect(returned.locator("blockquote")).to_have_text("请补充中试预算明细。")
    expect(page.locator(".timeline")).to_contain_text("请补充中试预算明细。")
    me.look("application-returned")
    page.locator(f"main a[href$='/funding/{application.pk}/edit/']").click()
    page.fill("[name=plan]", "建设一条中试线，验证工艺后注册公司。预算明细：设备 50 万元，材料 30 万元。")
    page.locator("main button[type=submit]").click()
    expect(page.locator(".message.success")).to_have_text(me.t("Your changes are saved."))
    page.fill("#step-comment", "已补充预算明细。")
    page.locator("main button[data-step-name=submit]").click()
    expect(page.locator("main .badge[data-state]")).to_have_attribute("data-state", S.SUBMITTED)

    # Review and decision by staff.
    app = Application.objects.get(pk=application.pk)
    app = funding_services.application_act(application=app, name="start_formal_review", by=people["reviewer"])
    app = funding_services.application_act(application=app, name="pass_formal_review", by=people["reviewer"])
    review = funding_services.review_assign(application=app, reviewer=people["reviewer"], by=people["reviewer"])
    funding_services.review_submit(
        review=review, by=people["reviewer"], score=90, recommendation=ExpertReview.Recommendation.APPROVE, opinion="好"
    )
    app = funding_services.application_act(application=app, name="complete_expert_review", by=people["reviewer"])
    funding_services.application_approve(application=app, by=applicant_people["approver"], comment="同意资助。")

    # The applicant sees the approval and the whole timeline, dates in the page's language.
    page.reload()
    expect(page.locator("main .badge[data-state]")).to_have_text(me.t("approved (public notice)"))
    timeline = page.locator(".timeline li")
    actions = timeline.evaluate_all("items => items.map(li => li.dataset.action)")
    for action in ("created", "submit", "return_for_changes", "submit", "approve"):
        assert f"funding.application.{action}" in actions, (action, actions)
    expect(page.locator(".timeline")).to_contain_text("同意资助。")
    first_date = timeline.first.locator("time").inner_text()
    if language == "zh-hans":
        assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", first_date), first_date
    else:
        assert "年" not in first_date and str(timezone.localdate().year) in first_date, first_date
    expect(page.locator("main .facts")).to_contain_text("¥800,000.00")
    me.look("application-approved")

    # The same page on a phone: nothing wider than the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px phone screen"
    me.look("application-approved-phone")

    # And it is listed publicly during the notice; the table fits the phone too.
    page.goto(reverse("funding:notices"))
    expect(page.locator("main table")).to_contain_text("¥800,000.00")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the notices are {width}px wide on a 390px phone screen"
    # The table scrolls sideways in its own box, which the keyboard can reach and scroll.
    table_box = page.locator("main .table-scroll")
    table_box.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "box => box.scrollWidth <= box.clientWidth || box.scrollLeft > 0", arg=table_box.element_handle()
    )
    me.look("public-notices-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    me.look("public-notices")


# ------------------------------------------------------------------ staff


def log_in_through_the_form(me, user, password):
    """The password, then (staff and auditors) the six-digit code from their authenticator."""
    device = second_factor_device(user)
    page = me.page
    page.goto(reverse("login"))
    page.fill("[name=username]", user.email)
    page.fill("[name=password]", password)
    me.look("login")
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("two_factor_verify"))))
    me.look("two-factor")
    page.fill("[name=token]", totp_code(device))
    page.locator("main button[type=submit]").click()
    expect(page.locator("header .who")).to_have_text(user.email)


def act(me, name, comment=""):
    """Take a transition from the 'what you can do now' card, with a comment."""
    page = me.page
    if comment:
        page.fill("#step-comment", comment)
    page.locator(f"main button[data-step-name={name}]").click()
    if name in CONFIRMED_STEPS:  # asked again on a page of its own, the comment carried there
        expect(page.locator(f"[data-confirm-step={name}] textarea[name=comment]")).to_have_value(comment)
        page.locator("[data-confirm]").click()
    expect(page.locator(".message.success")).to_be_visible()


@pytest.mark.parametrize("language", LANGUAGES)
def test_staff_take_an_application_from_the_queue_to_paid_out(
    language, visit, celery_worker_process, make_user, application_in, people, budget
):
    # One officer of a small sub-venue holds every desk of the fund's workflow.
    officer = make_user(roles.REVIEWER, email=f"officer-{language}@example.cn", password=PASSWORD)
    for role in (roles.APPROVER, roles.REGISTRATION_OFFICER, roles.FINANCE_OFFICER):
        officer.groups.add(Group.objects.get(name=role))
    application = application_in(S.SUBMITTED, amount=Decimal("600000.00"))
    me = visit(language, "staff")
    page = me.page

    log_in_through_the_form(me, officer, PASSWORD)

    # The work queues; the formal-review queue holds the new application.
    page.locator("header a[href$='/funding/queues/']").click()
    expect(page.locator("[data-queue=formal]")).to_have_text("1")
    me.look("queues")
    page.locator("main a[href$='/funding/queues/formal/']").click()
    me.look("queue-formal")
    page.locator(f"main a[href$='/funding/{application.pk}/']").click()
    me.look("application-submitted")

    # Formal review.
    act(me, "start_formal_review")
    act(me, "pass_formal_review", "材料齐全。")
    assert state_of(application.pk) == S.EXPERT_REVIEW

    # Expert review: assign themselves, review, complete.
    page.select_option("[name=reviewer]", str(officer.pk))
    page.locator("form[action$='/reviewers/'] button").click()
    expect(page.locator(".message.success")).to_be_visible()
    page.fill("[name=score]", "88")
    page.select_option("[name=recommendation]", ExpertReview.Recommendation.APPROVE)
    page.fill("[name=opinion]", "技术路线可行，市场前景较好。")
    me.look("expert-review")
    page.locator("form[action$='/review/'] button[type=submit]").click()
    expect(page.locator(".message.success")).to_be_visible()
    act(me, "complete_expert_review")
    assert state_of(application.pk) == S.AWAITING_DECISION

    # Decision: approve a smaller amount than requested.
    page.locator(f"main a[href$='/funding/{application.pk}/approve/']").click()
    page.fill("[name=approved_amount]", "500,000")
    page.fill("[name=comment]", "同意资助 50 万元。")
    me.look("approve-form")
    page.locator("main button[type=submit]").click()
    expect(page.locator("main .badge[data-state]")).to_have_attribute("data-state", S.PUBLIC_NOTICE)
    expect(page.locator("main .facts")).to_contain_text("¥500,000.00")

    # The public notice ends (the period has passed); the approver closes it.
    Application.objects.filter(pk=application.pk).update(notice_ends_on=timezone.localdate() - datetime.timedelta(1))
    page.reload()
    act(me, "end_notice")
    assert state_of(application.pk) == S.REGISTRATION

    # Registration verification, found through the staff admin's work-queue filter.
    page.locator("header a[href$='/admin/']").click()
    page.locator("a[href$='/admin/funding/application/']").first.click()
    page.locator("#changelist-filter a[href='?queue=registration']").click()
    expect(page).to_have_url(re.compile(r"\?queue=registration$"))
    me.look("admin-registration-queue")
    page.locator(f"#result_list a[href*='/admin/funding/application/{application.pk}/']").click()
    page.locator("a.viewsitelink").click()
    page.locator(f"main a[href$='/funding/{application.pk}/registration/']").click()
    page.fill("[name=company_name]", "太原煤基新材料科技有限公司")
    page.fill("[name=uscc]", demo_uscc(4243))
    page.fill("[name=registered_on]", "2026-11-20")
    page.fill("[name=registered_capital]", "2,000,000")
    page.fill("[name=paid_in_capital]", "1,600,000")
    page.fill("[name=legal_representative]", "李海燕")
    me.look("registration-form")
    page.locator("main button[type=submit]").click()
    expect(page.locator("main .badge[data-state]")).to_have_attribute("data-state", S.DISBURSEMENT)

    # The first instalment of the agreement's plan (20% of 500,000): its amount comes from the plan.
    page.locator(f"main a[href$='/funding/{application.pk}/disburse/']").click()
    expect(page.locator("[name=amount]")).to_have_value("100,000.00")
    page.fill("[name=paid_on]", "2026-11-25")
    page.fill("[name=reference]", "PAY-1")
    me.look("release-form")
    page.locator("main button[type=submit]").click()
    expect(page.locator(".message.success")).to_be_visible()
    assert state_of(application.pk) == S.DISBURSEMENT
    # The next one waits for the fund-use report: the page says so and offers no release.
    expect(page.locator(f"main a[href$='/funding/{application.pk}/disburse/']")).to_have_count(0)
    me.look("application-paying-out")

    # The budget view shows the figures: 10,000,000 budget, 500,000 reserved, 100,000 disbursed.
    page.goto(reverse("funding:budgets"))
    row = page.locator(f"[data-budget='{budget.sub_venue.code}-{budget.year}']")
    expect(row).to_contain_text("¥10,000,000.00")
    expect(row).to_contain_text("¥100,000.00")
    expect(row).to_contain_text("¥9,500,000.00")
    me.look("budgets")


# ------------------------------------------------------------------ after the money


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_holder_files_a_report_finance_accepts_it_and_releases_the_next_instalment(
    language, visit, make_user, application_in, people, budget, tmp_path
):
    application = application_in(S.DISBURSEMENT, amount=Decimal("500000.00"))
    holder = application.entity.owner
    report = application.fund_use_reports.get()

    # The holder: My grant shows the plan and the report that is due; the report is filed from its page.
    me = visit(language, "grant-holder")
    page = me.page
    me.log_in_quickly(holder)
    page.goto(reverse("funding:grant", args=[application.pk]))
    expect(page.locator("[data-instalment='1']")).to_contain_text("¥100,000.00")
    expect(page.locator("[data-instalment='2']")).to_contain_text("¥250,000.00")
    me.look("my-grant")
    page.locator(f"[data-due] a[href$='/funding/reports/{report.pk}/']").click()

    # Lines that do not add up: said beside the lines, in the page's language, and nothing typed is lost.
    page.fill("[name=spent]", "90,000")
    page.select_option("[name=lines-0-category]", "equipment")
    page.fill("[name=lines-0-amount]", "60,000")
    page.fill("[name=lines-0-description]", "中试设备")
    page.select_option("[name=lines-1-category]", "testing")
    page.fill("[name=lines-1-amount]", "20,000")
    page.locator("main button[name=action][value=save]").click()
    expect(page.locator("[data-lines-errors]")).to_contain_text(
        me.t("The expense lines add up to %(total)s yuan, not the %(spent)s yuan reported as spent.")
        % {"total": "80,000.00", "spent": "90,000.00"}
    )
    expect(page.locator("[name=lines-0-description]")).to_have_value("中试设备")
    me.look("report-lines-error")
    page.fill("[name=lines-1-amount]", "30,000")
    page.fill("[name=summary]", "采购中试设备，开展两轮中试。")
    page.locator("main button[name=action][value=save]").click()
    expect(page.locator(".message.success")).to_be_visible()

    # The invoice, then submit.
    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(PDF_BYTES)
    page.fill("[name=title]", "设备发票")
    page.set_input_files("[name=file]", str(invoice))
    page.locator("form[action$='/documents/'] button[type=submit]").click()
    expect(page.locator("[data-documents]")).to_contain_text("设备发票")
    page.locator("main button[name=action][value=submit]").click()
    expect(page.locator("main .badge[data-state]")).to_have_attribute("data-state", FundUseReport.State.SUBMITTED)
    me.look("report-submitted")

    # Finance: accepts the report on its page, then releases instalment 2 of the plan.
    finance = make_user(roles.FINANCE_OFFICER, email=f"finance-{language}@example.cn", password=PASSWORD)
    staff = visit(language, "grant-finance")
    log_in_through_the_form(staff, finance, PASSWORD)
    spage = staff.page
    spage.goto(reverse("funding:report", args=[report.pk]))
    expect(spage.locator("[data-spent]")).to_have_text("¥90,000.00")
    staff.look("report-to-review")
    spage.fill("[name=comment]", "票据齐全，同意。")
    spage.locator("main button[name=decision][value=accept]").click()
    expect(spage.locator("main .badge[data-state]")).to_have_attribute("data-state", FundUseReport.State.ACCEPTED)
    spage.goto(reverse("funding:detail", args=[application.pk]))
    spage.locator(f"main a[href$='/funding/{application.pk}/disburse/']").click()
    expect(spage.locator("[name=amount]")).to_have_value("250,000.00")
    spage.fill("[name=paid_on]", "2026-12-02")
    spage.fill("[name=reference]", "PAY-2")
    staff.look("release-second")
    spage.locator("main button[type=submit]").click()
    expect(spage.locator(".message.success")).to_be_visible()
    paid = Application.objects.get(pk=application.pk)
    assert (paid.state, paid.disbursed_total) == (S.DISBURSEMENT, Decimal("350000.00"))

    # The holder sees it on My grant: two instalments paid, the report on instalment 2 due next.
    page.goto(reverse("funding:grant", args=[application.pk]))
    expect(page.locator("[data-instalment='2']")).to_contain_text("2026")
    expect(page.locator("[data-due]")).to_contain_text(me.t("Fund-use report on instalment %(number)s") % {"number": 2})
    me.look("my-grant-after-release")


# ------------------------------------------------------------------ auditor


@pytest.mark.parametrize("language", LANGUAGES)
def test_auditor_filters_downloads_and_checks_the_audit_log(language, visit, make_user, application_in, people):
    auditor = make_user(roles.AUDITOR, email=f"auditor-{language}@example.cn", password=PASSWORD)
    closed = application_in(S.CLOSED, amount=Decimal("700000.00"))
    submitted = application_in(S.SUBMITTED, amount=Decimal("400000.00"))
    me = visit(language, "auditor")
    page = me.page

    log_in_through_the_form(me, auditor, PASSWORD)

    # Filter the applications (the closed ones) and download them as CSV.
    page.locator("header a[href$='/exports/']").click()
    applications = page.locator("[data-export=applications]")
    applications.locator("summary").click()
    applications.locator("[name=state]").select_option(S.CLOSED)
    me.look("exports")
    with page.expect_download() as download_info:
        applications.locator("button[formaction$='.csv']").click()  # the CSV, for programs; XLSX is the default
    download = download_info.value
    assert download.suggested_filename.endswith(".csv"), download.suggested_filename
    with open(download.path(), encoding="utf-8-sig", newline="") as file:
        header, *rows = list(csv.reader(file))
    assert header[0] == me.t("application"), header
    assert [row[0] for row in rows] == [str(closed.pk)], rows
    assert rows[0][header.index(me.t("amount requested (yuan)"))] == "700000.00"
    assert str(submitted.pk) not in {row[0] for row in rows}

    # The audit-log check page: intact, the download itself now on the log.
    page.locator("main a[href$='/audit/check/']").click()
    expect(page.locator("[data-audit=intact]")).to_be_visible()
    me.look("audit-check")

    # The compliance report: the nightly check has run for a fund (as beat would); the auditor reads it on
    # the fund's dashboard and downloads the report, filtered to that fund.
    fund = FundFactory(name_zh="山西省天使投资基金", name_en="Shanxi Angel Fund")
    for _ in range(3):
        InvestmentFactory(fund=fund)
    InvestmentFactory(fund=fund, failed=True)
    report = compliance_check_run(fund=fund, as_of=datetime.date(2025, 12, 31))
    page.locator("header a[href$='/tolerance/funds/']").click()
    page.locator(f"[data-fund='{fund.pk}'] a").first.click()
    expect(page.locator("[data-figure=rate-by-count]")).to_have_text(f"{report.rate_by_count}%")
    me.look("fund-dashboard")
    page.locator("header a[href$='/exports/']").click()
    reports = page.locator("[data-export=compliance-reports]")
    reports.locator("summary").click()
    reports.locator("[name=fund]").fill(str(fund.pk))
    with page.expect_download() as download_info:
        reports.locator("button[formaction$='.csv']").click()
    with open(download_info.value.path(), encoding="utf-8-sig", newline="") as file:
        header, *rows = list(csv.reader(file))
    assert [row[0] for row in rows] == [str(report.pk)], rows
    assert rows[0][header.index(me.t("failure rate by count (%)"))] == "25.00"
    assert rows[0][header.index(me.t("verdict"))] == me.t("within tolerance")


# ------------------------------------------------------------------ keyboard only


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_fund_application_form_is_filled_and_submitted_with_the_keyboard_alone(
    language, visit, resident_entity, applicant
):
    entity = resident_entity()
    me = visit(language, "keyboard")
    me.log_in_quickly(applicant)
    page = me.page
    page.goto(reverse("funding:new"))

    def focused():
        return page.evaluate("document.activeElement.name || document.activeElement.className")

    # The first Tab reaches the skip link, which shows itself.
    page.keyboard.press("Tab")
    assert focused() == "skip-link"
    expect(page.locator(".skip-link")).to_be_in_viewport()
    for _ in range(30):  # on through the header to the form's first field
        page.keyboard.press("Tab")
        if focused() == "entity":
            break
    else:
        pytest.fail("Tab never reached the first field of the form")
    page.keyboard.press("ArrowDown")  # the first (only) team, after the empty choice
    expect(page.locator("[name=entity]")).to_have_value(str(entity.pk))
    page.keyboard.press("Tab")
    assert focused() == "amount"
    page.keyboard.type("800,000")
    page.keyboard.press("Tab")
    assert focused() == "purpose"
    page.keyboard.type("中试线建设")
    page.keyboard.press("Tab")
    assert focused() == "plan"
    page.keyboard.type("建设中试线并注册公司。")
    page.keyboard.press("Tab")
    expect(page.locator("main button[type=submit]")).to_be_focused()
    me.look("application-form-focus")
    page.keyboard.press("Enter")

    expect(page.locator(".message.success")).to_have_text(
        me.t("The draft is saved. Check it, then submit it when it is complete.")
    )
    application = Application.objects.get(entity=entity)
    assert (application.amount, application.purpose, application.plan, application.state) == (
        Decimal("800000.00"),
        "中试线建设",
        "建设中试线并注册公司。",
        S.DRAFT,
    )
