"""The Unified Social Credit Code validator (GB 32100-2015)."""

import pytest
from django.core.exceptions import ValidationError

from teams.uscc import check_character, validate_uscc
from tests.factories import valid_uscc

# Built with the test's own check-character routine (tests.factories.valid_uscc), not the one under test.
VALID_CODES = [
    valid_uscc("91140105MA0000001"),
    valid_uscc("91350100M000100Y4"),  # = 91350100M000100Y43, the code often quoted as an example
    valid_uscc("11100000000013127"),
    valid_uscc("52140000MJY123456"),
    valid_uscc("9114010AAAAAAAAA0"),
    valid_uscc("YYYYYYYYYYYYYYYYY"),
]


@pytest.mark.parametrize("code", VALID_CODES)
def test_valid_codes_pass(code):
    validate_uscc(code)
    assert check_character(code[:17]) == code[-1]


def test_the_published_example_is_valid():
    validate_uscc("91350100M000100Y43")


def _wrong_check(code: str) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return code[:17] + alphabet[(alphabet.index(code[17]) + 1) % 31]


GOOD = valid_uscc("91140105MA0000001")

INVALID = [
    # (code, message fragment that says what is wrong)
    (_wrong_check(GOOD), "check"),
    (_wrong_check(valid_uscc("91350100M000100Y4")), "check"),
    (GOOD[:17], "exactly 18 characters long; this one has 17"),
    (GOOD + "1", "exactly 18 characters long; this one has 19"),
    ("", "Enter the 18-character"),
    (GOOD[:5] + "I" + GOOD[6:], "I, O, Z, S and V"),
    (GOOD[:5] + "O" + GOOD[6:], "found: O"),
    (GOOD[:5] + "Z" + GOOD[6:], "found: Z"),
    (GOOD[:5] + "S" + GOOD[6:], "found: S"),
    (GOOD[:5] + "V" + GOOD[6:], "found: V"),
    (GOOD.lower(), "lowercase"),
    (GOOD[:9] + "a" + GOOD[10:], "lowercase"),
    ("９１" + GOOD[2:], "full-width"),
    (GOOD[:8] + "Ｍ" + GOOD[9:], "full-width"),
    (GOOD[:8] + " " + GOOD[9:], "spaces"),
    (" " + GOOD, "spaces"),
    (GOOD[:6] + " " + GOOD[6:], "spaces"),
    (GOOD[:5] + "-" + GOOD[6:], "only digits and capital letters"),
]


@pytest.mark.parametrize(("code", "fragment"), INVALID, ids=[f"{i}-{f[:18]}" for i, (c, f) in enumerate(INVALID)])
def test_invalid_codes_say_what_is_wrong(code, fragment, settings):
    settings.LANGUAGE_CODE = "en"
    from django.utils import translation

    with translation.override("en"), pytest.raises(ValidationError) as caught:
        validate_uscc(code)
    assert fragment in caught.value.messages[0]


def test_the_message_is_in_chinese_by_default():
    from django.utils import translation

    with translation.override("zh-hans"), pytest.raises(ValidationError) as caught:
        validate_uscc(_wrong_check(GOOD))
    assert "校验" in caught.value.messages[0]
