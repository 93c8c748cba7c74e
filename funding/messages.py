"""The texts the portal itself writes into an application's history, one registry for all of them.

A history row (ApplicationEvent) written by the portal keeps a message code and its parameters, never the
text: the text is rendered when it is read, in the reader's language (the page's, or each language of a
mail). What staff type stays in `comment` as typed. Parameters are plain JSON: amounts as strings of yuan
with fen ("200000.00"), dates in ISO form, choices as their codes; each is formatted at render time.
"""

import contextlib
import datetime
from typing import NamedTuple

from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from valley.templatetags.valley_format import amount


class Message(NamedTuple):
    code: str
    params: dict


MESSAGES = {
    "document_attached": _("Document attached: %(title)s"),
    "document_removed": _("Document removed: %(title)s"),
    "instalment_paid": _("Instalment %(number)s of %(amount)s yuan paid on %(date)s."),
    "paid_in_full": _("The approved amount has been paid in full."),
    # The acceptance's reasons are what staff typed: they stay in the row's comment, after this text.
    "acceptance_recorded": _("Final acceptance: %(result)s."),
    "repayment_received": _("Repayment of %(amount)s yuan received on %(date)s."),
    "recovery_repaid": _("The recovery order has been repaid."),
}

# How each kind of parameter is shown: amounts grouped with two decimals, dates in the reader's format,
# the acceptance's result in the reader's words.
_AMOUNTS = {"amount"}
_DATES = {"date"}


# Parameters that are codes of a choice, shown as the choice's label: the models register their choices here
# (funding.models imports this module, never the other way round).
CHOICES: dict[str, type] = {}


def register_choices(param: str, choices) -> None:
    CHOICES[param] = choices


def _choice_label(param: str, code) -> str:
    try:
        return str(CHOICES[param](code).label)
    except (KeyError, ValueError):
        return str(code)


def system_message(code: str, **params) -> Message:
    """A message of the registry with its parameters, made JSON-ready (a KeyError for an unknown code)."""
    MESSAGES[code]
    ready = {}
    for key, value in params.items():
        if isinstance(value, datetime.date):
            value = value.isoformat()
        elif not isinstance(value, (str, int, type(None))):
            value = str(value)
        ready[key] = value
    return Message(code, ready)


def render(code: str, params: dict | None) -> str:
    """The text of message `code` in the active language, its parameters formatted for the reader."""
    template = MESSAGES.get(code)
    if template is None:  # a code of a later version, or a row edited by hand: say what it is, never fail
        return code
    shown = {}
    for key, value in (params or {}).items():
        if key in _AMOUNTS:
            value = amount(value)
        elif key in _DATES and value:
            with contextlib.suppress(TypeError, ValueError):
                value = date_format(datetime.date.fromisoformat(value), "DATE_FORMAT")
        elif key in CHOICES:
            value = _choice_label(key, value)
        shown[key] = value
    try:
        return str(template) % shown  # the lazy text, translated now: in the reader's language
    except (KeyError, TypeError, ValueError):
        return str(template)
