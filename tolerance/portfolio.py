"""Writes for the portfolio itself: funds, investments (and their moves between states), accountable parties.

The compliance check is in services.py; this module keeps what portfolio managers record. Every
function here is the one way its change is made: the admin, the demo seeds and the tests call it.
Each runs in one transaction, locks the row it changes (an investment's money and state, a fund's
policy), validates with translated messages (raising `InvalidRecord`, a DomainError), saves with
`update_fields` (always including `updated_at`, which the fund dashboard's cache key reads) and
records its own audit entry under tolerance.fund.*, tolerance.investment.* or tolerance.party.*.

`by` is the person acting; None is the system (demo seeds, management commands), as in the workflow.
"""

import datetime
from collections.abc import Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from teams.models import Entity
from tolerance.models import STANDARDS, Fund, GoverningBasis, Investment, InvestmentParty
from tolerance.workflow import ACTIONS, WORKFLOW
from valley import audit
from valley.core import documents, roles
from valley.core.errors import DomainError, Forbidden

S = Investment.State

FUND_FIELDS = frozenset(
    {
        "name_zh",
        "name_en",
        "manager",
        "entrusted_institution",
        "size",
        "tolerance_threshold",
        "warning_level",
        "governing_basis",
    }
)
CHECKLIST_FIELDS = frozenset(
    name for code, _label in STANDARDS for name in (code, f"{code}_evidence", f"{code}_confirmed_by")
)
# What investment_update changes. The state is not among them: it moves only by the workflow's transitions.
INVESTMENT_FIELDS = frozenset(
    {
        "fund",
        "startup",
        "invested_on",
        "principal",
        "co_investment",
        "stake",
        "note",
        "recovered",
        "failure_kind",
        "failed_on",
    }
    | CHECKLIST_FIELDS
)
PARTY_FIELDS = frozenset({"role", "organisation", "person", "position"})


class PortfolioError(DomainError):
    """A portfolio rule refused the change; `message` says why (translated)."""


class InvalidRecord(PortfolioError):
    """The values break a rule of the record. `errors` maps field names ("__all__" for the whole) to messages."""

    def __init__(self, errors: Mapping[str, list[str]]):
        self.errors = {field: [str(message) for message in messages] for field, messages in errors.items()}
        super().__init__(" ".join(message for messages in self.errors.values() for message in messages))


class NotPortfolioManager(PortfolioError, Forbidden):
    """Only portfolio managers (and the system) keep the portfolio."""


def _require_manager(by) -> None:
    if by is not None and not roles.has_role(by, roles.PORTFOLIO_MANAGER):
        raise NotPortfolioManager(_("Only portfolio managers keep the investment portfolio."))


def _validate(instance) -> None:
    """The model's own rules (field limits and `clean`), as InvalidRecord. Relations are checked by the
    database (foreign keys), not by one query each."""
    relations = [field.name for field in instance._meta.concrete_fields if field.is_relation]
    try:
        instance.clean_fields(exclude=relations)
        instance.clean()
    except ValidationError as error:
        raise InvalidRecord(error.message_dict) from None


def _unknown(changes: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"not changed by this service: {sorted(unknown)}")  # a programming error, not a user's


# ----------------------------------------------------------------------------------------------- funds


def _check_fund(fund: Fund) -> None:
    _validate(fund)
    errors = {}
    if fund.size is not None and fund.size <= 0:
        errors["size"] = [_("The fund size must be more than zero.")]
    if not (Decimal("0") <= fund.tolerance_threshold <= Decimal("100")):
        errors["tolerance_threshold"] = [_("The failure-tolerance threshold is a percentage from 0 to 100.")]
    if not (Decimal("0") <= fund.warning_level <= fund.tolerance_threshold):
        errors["warning_level"] = [_("The warning level must be from 0 up to the failure-tolerance threshold.")]
    if errors:
        raise InvalidRecord(errors)


@contextmanager
def _unique_name():
    """Around a fund's save: a clash of English names becomes a message instead of an IntegrityError."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as error:
        if "fund_name_en_unique" not in str(error):
            raise
        raise InvalidRecord({"name_en": [_("Another fund already has this English name.")]}) from None


@transaction.atomic
def fund_create(
    *,
    by,
    name_zh: str,
    name_en: str,
    manager: str,
    entrusted_institution: str,
    size: Decimal,
    tolerance_threshold: Decimal = Decimal("80.00"),
    warning_level: Decimal = Decimal("70.00"),
    governing_basis: str = GoverningBasis.COUNT,
) -> Fund:
    """A new fund with its tolerance policy."""
    _require_manager(by)
    fund = Fund(
        name_zh=name_zh,
        name_en=name_en,
        manager=manager,
        entrusted_institution=entrusted_institution,
        size=size,
        tolerance_threshold=tolerance_threshold,
        warning_level=warning_level,
        governing_basis=governing_basis,
    )
    _check_fund(fund)
    with _unique_name():
        fund.save()
    audit.record_created(fund, action="tolerance.fund.created", actor=by)
    return fund


@transaction.atomic
def fund_update(*, fund: Fund, by, changes: Mapping[str, Any]) -> Fund:
    """Change a fund's names, manager, size or policy. The fund row is locked, as the compliance check
    locks it: a check runs either before or after a policy change, never across it. Reports already
    made keep the policy they copied."""
    _require_manager(by)
    _unknown(changes, FUND_FIELDS)
    fund = Fund.objects.select_for_update().get(pk=fund.pk)
    before = audit.snapshot(fund)
    for name, value in changes.items():
        setattr(fund, name, value)
    _check_fund(fund)
    with _unique_name():
        fund.save(update_fields=sorted(changes))
    audit.record_changed(fund, action="tolerance.fund.changed", before=before, actor=by)
    return fund


@transaction.atomic
def fund_delete(*, fund: Fund, by) -> None:
    """Remove a fund entered by mistake. Only a fund without investments or reports can go (the database
    protects the others); the audit entry keeps its values."""
    _require_manager(by)
    fund = Fund.objects.select_for_update().get(pk=fund.pk)
    if fund.investments.exists() or fund.reports.exists():
        raise PortfolioError(_("A fund with investments or compliance reports cannot be removed."))
    audit.record_deleted(fund, action="tolerance.fund.deleted", actor=by)
    fund.delete()


# ----------------------------------------------------------------------------------------- investments


def _locked(investment: Investment) -> Investment:
    return Investment.objects.select_for_update().get(pk=investment.pk)


def _save_investment(investment: Investment, fields) -> None:
    fields = set(fields)
    investment.save(update_fields=sorted(fields | {"updated_at"}))
    if fields & CHECKLIST_FIELDS:
        investment.refresh_from_db(fields=["meets_standards"])  # computed by the database on UPDATE


@transaction.atomic
def investment_create(
    *,
    by,
    fund: Fund,
    startup: Entity,
    invested_on: datetime.date,
    principal: Decimal,
    stake: Decimal,
    note: str = "",
    co_investment: Decimal = Decimal("0.00"),
    checklist: Mapping[str, Any] | None = None,
) -> Investment:
    """A new, active investment. `checklist` gives standards already met: {code, code_evidence,
    code_confirmed_by}; an item ticked without evidence or a confirmer is refused. An investment that
    has already exited or failed is then moved by `investment_record_exit` / `investment_record_failure`."""
    _require_manager(by)
    checklist = dict(checklist or {})
    _unknown(checklist, CHECKLIST_FIELDS)
    if startup.kind != Entity.Kind.STARTUP:
        raise InvalidRecord({"startup": [_("The fund invests in startups only.")]})
    investment = Investment(
        fund=fund,
        startup=startup,
        invested_on=invested_on,
        principal=principal,
        co_investment=co_investment,
        stake=stake,
        note=note,
        state=WORKFLOW.initial,
        **checklist,
    )
    _validate(investment)
    investment.save()
    audit.record_created(investment, action="tolerance.investment.created", actor=by)
    return investment


@transaction.atomic
def investment_update(*, investment: Investment, by, changes: Mapping[str, Any]) -> Investment:
    """Correct an investment's facts or its standards checklist (not its state: see the transitions).

    The row is locked: amounts (principal, recovered) are money the compliance check sums. A failed
    investment's failure kind, date and recovered amount are corrected here too."""
    _require_manager(by)
    _unknown(changes, INVESTMENT_FIELDS)
    investment = _locked(investment)
    if "startup" in changes and changes["startup"].kind != Entity.Kind.STARTUP:
        raise InvalidRecord({"startup": [_("The fund invests in startups only.")]})
    before = audit.snapshot(investment)
    for name, value in changes.items():
        setattr(investment, name, value)
    _validate(investment)
    _save_investment(investment, changes)
    audit.record_changed(investment, action="tolerance.investment.changed", before=before, actor=by)
    return investment


def _transition(investment: Investment, name: str, by) -> tuple[Investment, dict]:
    """Lock the row, check the workflow table, and take the snapshot the audit entry compares against."""
    investment = _locked(investment)
    WORKFLOW.check(name, investment, by)
    return investment, audit.snapshot(investment)


def _finish(investment: Investment, name: str, *, before: dict, by, fields, extra: dict | None = None) -> Investment:
    investment.state = WORKFLOW[name].target
    _validate(investment)
    _save_investment(investment, {"state", *fields})
    audit.record_changed(
        investment, action=ACTIONS[name], before=before, actor=by, extra={"transition": name, **(extra or {})}
    )
    return investment


@transaction.atomic
def investment_record_exit(*, investment: Investment, by, proceeds: Decimal) -> Investment:
    """The fund has sold its stake: active → exited, with the proceeds."""
    investment, before = _transition(investment, "record_exit", by)
    if proceeds is None or proceeds < 0:
        raise InvalidRecord({"recovered": [_("The proceeds of an exit cannot be negative.")]})
    investment.recovered = proceeds
    return _finish(investment, "record_exit", before=before, by=by, fields={"recovered"})


@transaction.atomic
def investment_record_failure(
    *, investment: Investment, by, kind: str, failed_on: datetime.date, recovered: Decimal = Decimal("0.00")
) -> Investment:
    """The startup failed: active → failed, with how, when, and what was recovered (at most the principal)."""
    investment, before = _transition(investment, "record_failure", by)
    investment.failure_kind, investment.failed_on, investment.recovered = kind, failed_on, recovered
    if recovered is None or recovered < 0:
        raise InvalidRecord({"recovered": [_("The recovered amount cannot be negative.")]})
    return _finish(
        investment, "record_failure", before=before, by=by, fields={"failure_kind", "failed_on", "recovered"}
    )


@transaction.atomic
def investment_reopen(*, investment: Investment, by, reason: str) -> Investment:
    """An exit or failure recorded in error: back to active, its failure facts and proceeds cleared
    (the audit entry keeps them, with the reason). Its exemption cases stay as they are: a decided
    one stands until a re-examination decides otherwise."""
    investment, before = _transition(investment, "reopen", by)
    if not (reason or "").strip():
        raise InvalidRecord({"__all__": [_("Say why the investment is reopened.")]})
    investment.failure_kind, investment.failed_on, investment.recovered = "", None, Decimal("0.00")
    return _finish(
        investment,
        "reopen",
        before=before,
        by=by,
        fields={"failure_kind", "failed_on", "recovered"},
        extra={"reason": reason.strip()},
    )


@transaction.atomic
def investment_delete(*, investment: Investment, by) -> None:
    """Remove an investment entered by mistake, with its parties and documents (one audit entry keeps
    the investment and its parties). One that has an exemption case cannot go: the case is history."""
    _require_manager(by)
    investment = _locked(investment)
    if investment.exemption_cases.exists():
        raise PortfolioError(_("An exemption case rests on this investment; it cannot be removed."))
    if investment.valuation_marks.exists():
        raise PortfolioError(_("Valuation marks are kept as history for this investment; it cannot be removed."))
    parties = [audit.snapshot(party) for party in investment.parties.order_by("pk")]
    papers = list(investment.documents.order_by("pk"))
    audit.record(
        action="tolerance.investment.deleted",
        actor=by,
        object_type=investment._meta.label_lower,
        object_id=investment.pk,
        before={
            **audit.snapshot(investment),
            "parties": parties,
            "documents": [audit.snapshot(paper) for paper in papers],
        },
    )
    for paper in papers:
        documents.delete_after_commit(paper.file)
    investment.delete()


# ------------------------------------------------------------------------------------- accountable parties


def _check_party(party: InvestmentParty) -> None:
    _validate(party)
    if not (party.organisation.strip() or party.person.strip()):
        raise InvalidRecord({"organisation": [_("Name the organisation, the person, or both.")]})
    twin = InvestmentParty.objects.filter(
        investment_id=party.investment_id, role=party.role, organisation=party.organisation, person=party.person
    ).exclude(pk=party.pk)
    if twin.exists():
        raise InvalidRecord({"__all__": [_("This party is already named for the investment in this role.")]})


@transaction.atomic
def party_add(
    *, investment: Investment, by, role: str, organisation: str = "", person: str = "", position: str = ""
) -> InvestmentParty:
    """Name one of the accountable parties of an investment."""
    _require_manager(by)
    party = InvestmentParty(
        investment=investment, role=role, organisation=organisation, person=person, position=position
    )
    _check_party(party)
    party.save()
    audit.record_created(party, action="tolerance.party.created", actor=by)
    return party


@transaction.atomic
def party_update(*, party: InvestmentParty, by, changes: Mapping[str, Any]) -> InvestmentParty:
    """Correct a party's role, names or position. Its exemption determinations name the row, so they
    follow the correction; the audit entry keeps what it said before."""
    _require_manager(by)
    _unknown(changes, PARTY_FIELDS)
    party = InvestmentParty.objects.select_for_update().get(pk=party.pk)
    before = audit.snapshot(party)
    for name, value in changes.items():
        setattr(party, name, value)
    _check_party(party)
    party.save(update_fields=sorted(changes))
    audit.record_changed(party, action="tolerance.party.changed", before=before, actor=by)
    return party


@transaction.atomic
def party_remove(*, party: InvestmentParty, by) -> None:
    """Remove a party named by mistake. One that an exemption determination or a statement in a case
    rests on stays: they are history."""
    _require_manager(by)
    party = InvestmentParty.objects.select_for_update().get(pk=party.pk)
    if party.exemptions.exists() or party.statements.exists():
        raise PortfolioError(_("An exemption determination rests on this party; it cannot be removed."))
    audit.record_deleted(party, action="tolerance.party.deleted", actor=by)
    party.delete()
