"""The applicant's step bar on a 390 px phone: it fits the screen, the current step is the one marked
aria-current="step", and axe finds nothing serious on the page, in both languages."""

import pytest

from funding.models import Application

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_step_bar_fits_a_phone_and_marks_the_current_step(
    language, visit, transactional_db, application_in, applicant
):
    application = application_in(Application.State.EXPERT_REVIEW)
    me = visit(language, "step-bar", viewport=PHONE)
    me.log_in_quickly(applicant)
    me.page.goto(f"/funding/{application.pk}/")
    assert me.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    current = me.page.locator('ol.step-bar li[aria-current="step"]')
    assert current.count() == 1 and current.get_attribute("data-step") == "expert_review"
    assert me.page.locator("ol.step-bar > li").count() == 8
    me.look("phone")
