"""The Unified Social Credit Code (统一社会信用代码), GB 32100-2015.

18 characters from a 31-character alphabet (digits and capital letters without I, O, Z, S, V);
the 18th is a check character computed from the first 17 with weights 3^i mod 31.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
LENGTH = 18
_FORBIDDEN = set("IOZSV")


def check_character(first17: str) -> str:
    """The check character for the first 17 characters of a code (which must be valid characters)."""
    total = sum(ALPHABET.index(char) * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str) -> None:
    """Raise ValidationError with a message that says what is wrong with the code."""
    if not isinstance(value, str) or value == "":
        raise ValidationError(_("Enter the 18-character Unified Social Credit Code."), code="required")
    if any(char.isspace() for char in value):
        raise ValidationError(
            _("Remove the spaces: the code is 18 characters with nothing between them."), code="spaces"
        )
    if any(0xFF01 <= ord(char) <= 0xFF5E for char in value):
        raise ValidationError(
            _("The code contains full-width characters; type it with half-width (ASCII) digits and letters."),
            code="full_width",
        )
    if len(value) != LENGTH:
        raise ValidationError(
            _("The code must be exactly 18 characters long; this one has %(count)d."),
            code="length",
            params={"count": len(value)},
        )
    if any(char.islower() for char in value):
        raise ValidationError(_("Use capital letters only: the code has no lowercase letters."), code="lowercase")
    forbidden = sorted({char for char in value if char in _FORBIDDEN})
    if forbidden:
        raise ValidationError(
            _("The letters I, O, Z, S and V never appear in the code; found: %(letters)s."),
            code="forbidden_letter",
            params={"letters": ", ".join(forbidden)},
        )
    invalid = sorted({char for char in value if char not in ALPHABET})
    if invalid:
        raise ValidationError(
            _("The code may contain only digits and capital letters; found: %(chars)s."),
            code="invalid_character",
            params={"chars": " ".join(invalid)},
        )
    if value[-1] != check_character(value[:-1]):
        raise ValidationError(
            _("The last (check) character does not match the first 17; please check the code for typing errors."),
            code="check_character",
        )
