"""The service system in Chromium, once in Chinese and once in English: a new team asks for residency, the
sub-venue's operator selects it, the team applies for the fund from the guide's pre-check, asks the finance
line for help, the line's staff accept, write and resolve it, and the team rates it. A screenshot (and axe)
at each step; each person in their own browser context."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from funding.models import Application
from teams.models import Entity, ResidencyRequest, ServiceRequest
from tests.browser.conftest import LANGUAGES
from tests.factories import EntityFactory, SubVenueFactory
from valley.core import roles
from valley.models import ServiceLine, SubVenue

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_new_team_from_residency_to_a_rated_finance_service(language, visit, make_user, budget):
    sub_venue = SubVenue.objects.get(pk=budget.sub_venue_id)
    sub_venue.status = SubVenue.Status.OPEN
    sub_venue.save(update_fields=["status"])
    SubVenueFactory(code="elsewhere", status=SubVenue.Status.OPEN)  # a choice to make, not a given
    applicant = make_user(roles.APPLICANT, email=f"new-team-{language}@example.cn", email_confirmed_at=timezone.now())
    team = EntityFactory(owner=applicant, name_zh="煤基新材料团队", name_en="Coal-based Materials Team")
    operator = make_user(roles.SUB_VENUE_OPERATOR, email=f"operator-{language}@example.cn")
    operator.sub_venues.set([sub_venue])
    finance = ServiceLine.objects.create(
        code="finance", name_zh="金融服务", name_en="Finance", time_limit_working_days=5
    )
    desk = make_user(roles.SERVICE_LINE_STAFF, email=f"finance-desk-{language}@example.cn")
    desk.service_lines.set([finance])

    me = visit(language, "service-system")
    me.log_in_quickly(applicant)
    page = me.page

    # 1. The team is not resident: it asks to enter the sub-venue from its own page.
    page.goto(reverse("teams:entity_detail", args=[team.pk]))
    page.locator(f"main a[href$='{reverse('teams:residency_request_new', args=[team.pk])}']").click()
    page.select_option("[name=sub_venue]", str(sub_venue.pk))
    page.fill("[name=reason]", "需要中试场地，靠近山西大学的合作实验室。")
    page.locator("[name=needs]").first.check()
    me.look("residency-request")
    page.locator("main form button[type=submit]").first.click()
    request = ResidencyRequest.objects.get(entity=team)
    expect(page).to_have_url(re.compile(re.escape(request.get_absolute_url())))
    me.look("residency-requested")

    # 2. The sub-venue's operator selects it from their queue.
    staff = visit(language, "service-system-operator")
    staff.log_in_quickly(operator)
    staff.page.goto(reverse("teams:residency_queue"))
    staff.page.locator(f"main a[href$='{request.get_absolute_url()}']").click()
    staff.look("residency-decide")
    staff.page.locator(f"form[action$='{reverse('teams:residency_request_select', args=[request.pk])}'] button").click()
    expect(staff.page.locator(".message.success")).to_be_visible()
    request.refresh_from_db()
    assert request.status == ResidencyRequest.Status.SELECTED
    staff.look("residency-selected")

    # 3. The team applies from the fund's guide: every condition met, the form opens with the team chosen.
    page.goto(reverse("guide_detail", args=["fund"]))
    expect(page.locator(".precheck .not-met")).to_have_count(0)
    me.look("guide-precheck")
    page.locator("main a[data-apply]").click()
    expect(page.locator("[name=entity]")).to_have_value(str(team.pk))
    page.fill("[name=amount]", "600,000")
    page.fill("[name=purpose]", "中试线建设")
    page.fill("[name=plan]", "建设一条中试线，验证工艺后注册公司。")
    page.locator("main form button[type=submit]").first.click()
    expect(page.locator(".message.success")).to_be_visible()
    assert Application.objects.filter(entity=team).count() == 1
    me.look("application-draft")

    # 4. It asks the finance line for help.
    page.goto(reverse("teams:service_request_create"))
    expect(page.locator("[name=entity]")).to_have_value(str(team.pk))  # its one resident team, chosen already
    page.select_option("[name=line]", str(finance.pk))
    page.fill("[name=subject]", "天使投资对接")
    page.fill("[name=details]", "希望对接省天使投资基金，了解投资条件。")
    me.look("service-request")
    page.locator("main form button[type=submit]").first.click()
    service = ServiceRequest.objects.get(entity=team)
    expect(page).to_have_url(re.compile(re.escape(service.get_absolute_url())))
    me.look("service-requested")

    # 5. The finance desk accepts it, writes, and resolves it.
    desk_visit = visit(language, "service-system-finance")
    desk_visit.log_in_quickly(desk)
    desk_page = desk_visit.page
    desk_page.goto(reverse("teams:service_queue"))
    desk_page.locator(f"main a[href$='{service.get_absolute_url()}']").click()
    desk_visit.look("service-accept")
    desk_page.select_option("[name=handler]", str(desk.pk))
    desk_page.locator(f"form[action$='{reverse('teams:service_request_accept', args=[service.pk])}'] button").click()
    expect(desk_page.locator(".message.success")).to_be_visible()
    desk_page.fill("[name=body]", "请提供近三年的财务报表和商业计划书。")
    desk_page.locator(f"form[action$='{reverse('teams:service_request_message', args=[service.pk])}'] button").click()
    expect(desk_page.locator("main")).to_contain_text("请提供近三年的财务报表和商业计划书。")
    desk_page.fill("[name=resolution]", "已推荐至省天使投资基金，约定下周面谈。")
    desk_page.locator(f"form[action$='{reverse('teams:service_request_resolve', args=[service.pk])}'] button").click()
    expect(desk_page.locator(".message.success")).to_be_visible()
    desk_visit.look("service-resolved")

    # 6. The team reads the answer and rates the service, once.
    page.goto(service.get_absolute_url())
    expect(page.locator("main")).to_contain_text("请提供近三年的财务报表和商业计划书。")
    page.locator("[name=rating][value='5']").check()
    page.fill("[name=comment]", "对接及时，很有帮助。")
    me.look("service-rate")
    page.locator(f"form[action$='{reverse('teams:service_request_rate', args=[service.pk])}'] button").click()
    expect(page.locator(".message.success")).to_be_visible()
    service.refresh_from_db()
    assert (service.state, service.rating) == (ServiceRequest.State.CLOSED, 5)
    expect(page.locator(f"form[action$='{reverse('teams:service_request_rate', args=[service.pk])}']")).to_have_count(0)
    me.look("service-rated")
    assert Entity.objects.get(pk=team.pk).residencies.filter(sub_venue=sub_venue).exists()
