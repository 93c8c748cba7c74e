"""One person's five wrong passwords, typed in Chromium into the login page, pause that account from that
address only: the colleague at the next desk (same browser, same address) logs in at once. The page says
how many attempts are left, and the locked-out page says what to do."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LANGUAGES

pytestmark = [pytest.mark.browser]
PASSWORD = "pw-Valley-2026!"
ONE_LEFT = {"en": "1 attempt left", "zh-hans": "还可尝试 1 次"}


def _log_in(page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.locator("main form button[type=submit]").click()


@pytest.mark.parametrize("language", LANGUAGES)
def test_five_wrong_passwords_for_one_account_do_not_lock_another_account_from_the_same_address(
    language, visit, applicant, other_applicant
):
    me = visit(language, "lockout")
    page = me.page
    for _ in range(4):
        _log_in(page, me.base_url, applicant.email, "not-the-password")
    expect(page.locator(".form-errors")).to_contain_text(ONE_LEFT[language])
    me.look("one-attempt-left")
    _log_in(page, me.base_url, applicant.email, "not-the-password")
    _log_in(page, me.base_url, applicant.email, PASSWORD)  # the right one, too late
    expect(page.locator("main")).to_contain_text(me.t("Too many failed logins"))
    me.look("locked-out")

    # The colleague, same browser and address: straight in, to their tasks.
    _log_in(page, me.base_url, other_applicant.email, PASSWORD)
    expect(page).to_have_url(f"{me.base_url}/my/")
    me.look("colleague-signed-in")
