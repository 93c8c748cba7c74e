"""Writes of valuation marks: the one way a portfolio manager records an investment's fair value.

Marks are append-only. There is no edit and no delete: a mark in error is corrected by a new mark,
for the same date if need be (for one date the mark recorded last counts; the earlier one stays as
history, and the investment's history page says it was superseded). The figures that read marks are
in tolerance/figures.py.
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tolerance.models import Investment, InvestmentDocument, ValuationMark, ValuationMethod
from tolerance.portfolio import InvalidRecord, _require_manager
from valley import audit
from valley.core import roles

MAX_FAIR_VALUE = Decimal("999999999999.99")  # what MONEY (14 digits, 2 decimals) holds


def user_can_record_marks(user) -> bool:
    """Portfolio managers (and superusers) record marks; every other reader of the portfolio only reads them."""
    return roles.has_role(user, roles.PORTFOLIO_MANAGER)


def valuation_mark_problems(
    *, investment: Investment, as_of, fair_value, method, evidence, document=None
) -> dict[str, list[str]]:
    """The rules of a mark, as {field: [messages]} (empty when it may be recorded). The service checks
    them under the investment's lock; the forms call this first to put each message beside its field."""
    errors: dict[str, list[str]] = {}
    today = timezone.localdate()
    if as_of is None:
        errors["as_of"] = [_("Give the date of the valuation.")]
    elif as_of > today:
        errors["as_of"] = [_("A valuation date cannot be in the future.")]
    elif as_of < investment.invested_on:
        errors["as_of"] = [
            _("The valuation date cannot be before the investment date (%(date)s).")
            % {"date": investment.invested_on.isoformat()}
        ]
    elif investment.failed_on and as_of > investment.failed_on:
        errors["as_of"] = [
            _("The startup failed on %(date)s; a later mark has nothing to value. Its recovered amount is its value.")
            % {"date": investment.failed_on.isoformat()}
        ]
    try:
        value = None if fair_value is None else Decimal(fair_value)
    except (InvalidOperation, TypeError, ValueError):
        value = None
    if value is None or not value.is_finite():
        errors["fair_value"] = [_("Give the fair value in yuan.")]
    elif value < 0:
        errors["fair_value"] = [_("A fair value cannot be negative; a worthless holding is marked at 0.")]
    elif value > MAX_FAIR_VALUE or value != value.quantize(Decimal("0.01")):
        errors["fair_value"] = [
            _("Give the fair value in yuan with at most two decimals and at most 12 digits before them.")
        ]
    if method not in ValuationMethod.values:
        errors["method"] = [_("Choose one of the valuation methods.")]
    if not (evidence or "").strip():
        errors["evidence"] = [
            _("Say what the value rests on: the round, the peers, the model or the write-down's reason.")
        ]
    if document is not None and document.investment_id != investment.pk:
        errors["document"] = [_("The supporting document must be one of this investment's documents.")]
    return errors


@transaction.atomic
def valuation_mark_record(
    *,
    investment: Investment,
    by,
    as_of: datetime.date,
    fair_value: Decimal,
    method: str,
    evidence: str,
    document: InvestmentDocument | None = None,
) -> ValuationMark:
    """Record the fair value of `investment` on `as_of`, by `method`, resting on `evidence` (and a document
    of the same investment, if given). Portfolio managers only (by=None: the system, for the demo).

    The investment row is locked, as for its money changes, so a mark never lands beside an exit or a
    failure recorded at the same moment without seeing it; the investment's `updated_at` is touched, which
    is what the fund dashboard's cache key reads. Refused, with a message per field (InvalidRecord): a date
    before the investment or in the future, a date after the investment failed, a negative value, an
    unknown method, no evidence, a document of another investment. Records the audit entry
    tolerance.valuation.recorded.
    """
    _require_manager(by)
    investment = Investment.objects.select_for_update().get(pk=investment.pk)
    errors = valuation_mark_problems(
        investment=investment, as_of=as_of, fair_value=fair_value, method=method, evidence=evidence, document=document
    )
    if errors:
        raise InvalidRecord(errors)
    fair_value, evidence = Decimal(fair_value), evidence.strip()

    mark = ValuationMark.objects.create(
        investment=investment,
        as_of=as_of,
        fair_value=fair_value,
        method=method,
        evidence=evidence,
        document=document,
        recorded_by=by,
        recorded_at=timezone.now(),
    )
    investment.save(update_fields=["updated_at"])
    audit.record_created(mark, action="tolerance.valuation.recorded", actor=by)
    return mark
