"""The portal's key pages in Chromium under its Content-Security-Policy: each loads with no violation (the
`securitypolicyviolation` event and the console, as collected by the `visit` fixture), and its scripts still
work (the admin's calendar widget opens, the Swagger page draws the API). The demo data gives every page
something to show: charts with points, queues with counts, a change list with rows."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from funding.models import Application
from tolerance.models import Fund
from valley.demo import demo_email

pytestmark = [pytest.mark.browser]


@pytest.fixture
def demo(transactional_db, settings):
    settings.DEBUG = True  # seed_demo refuses to run otherwise
    call_command("seed_demo", verbosity=0)
    settings.DEBUG = False
    return get_user_model().objects


def test_the_listener_reports_a_violation(visit, live_server, db):
    """The check below is only worth something if a refused inline style is seen: make one."""
    me = visit("en", "csp-self-check")
    me.page.goto("/")
    me.page.evaluate("() => document.body.insertAdjacentHTML('beforeend', '<p style=\"color:red\">x</p>')")
    me.page.wait_for_function("() => window.__cspViolations.length > 0")
    assert any("style-src" in line for line in me.csp_violations()), me.csp_violations()
    me.csp_console.clear()  # the violation was made on purpose: the fixture's final check is for the portal


def test_key_pages_load_with_no_policy_violation(visit, demo):
    page_checks = []

    anonymous = visit("zh-hans", "csp-public")
    for path in ("/", "/accounts/login/", "/api/docs/"):
        anonymous.page.goto(path)
        page_checks.append(path)
        anonymous.assert_no_csp_violation()
    expect(anonymous.page.locator(".swagger-ui .info")).to_be_visible()  # Swagger's script ran and drew
    anonymous.page.goto("/")
    # The targets' progress bars: their length is an SVG attribute now, no longer a style attribute.
    bar = anonymous.page.locator("[role=progressbar] rect").first
    assert float(bar.get_attribute("width").rstrip("%")) > 0
    anonymous.look("home")  # screenshot and axe-core, with the policy check

    applicant = visit("zh-hans", "csp-applicant")
    applicant.log_in_quickly(demo.get(email=demo_email("applicant")))
    application = Application.objects.filter(entity__owner__email=demo_email("applicant")).order_by("pk").first()
    for path in ("/", "/funding/", f"/funding/{application.pk}/"):
        applicant.page.goto(path)
        page_checks.append(path)
        applicant.assert_no_csp_violation()

    staff = visit("en", "csp-staff")
    staff.log_in_quickly(demo.get(email=demo_email("staff")))
    fund = Fund.objects.filter(investments__isnull=False).distinct().order_by("pk").first()
    for path in ("/funding/queues/", "/tolerance/funds/", f"/tolerance/funds/{fund.pk}/"):
        staff.page.goto(path)
        page_checks.append(path)
        staff.assert_no_csp_violation()
    expect(staff.page.locator("svg.rate-chart .point").first).to_be_attached()  # the chart has its points
    staff.look("fund-dashboard")
    evaluation = staff.page.locator("a[href*='/evaluation/']").first
    evaluation.click()
    expect(staff.page.locator("svg.focus-chart")).to_be_visible()
    staff.look("fund-evaluation")

    root = get_user_model().objects.create_superuser(email="root@example.cn", password="pw-Valley-2026!")
    admin = visit("en", "csp-admin")
    admin.log_in_quickly(root)
    for path in ("/admin/", "/admin/funding/application/", "/admin/tolerance/investment/"):
        admin.page.goto(path)
        page_checks.append(path)
        admin.assert_no_csp_violation()
    # A change form with Django's date widget: its script (no inline code) adds the calendar and it opens.
    admin.page.goto("/admin/valley/calendarday/add/")
    admin.page.locator(".datetimeshortcuts a[id^='calendarlink']").first.click()
    expect(admin.page.locator(".calendarbox").first).to_be_visible()
    admin.assert_no_csp_violation()
    assert len(page_checks) == 12
