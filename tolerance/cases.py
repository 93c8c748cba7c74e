"""Exemption cases (尽职免责): the check proposes, people decide (DOMAIN.md "Exemption is a determination").

The compliance check opens cases in bulk (tolerance/services.py, `open_cases_for_report`); every other step
is one function here that locks the case row, checks the step and the role against CASE_WORKFLOW, writes
the step's own row (evidence, statement, opinion, determinations, notification), appends the CaseEvent and
the audit entry in the same transaction, and queues mail to the next actor (the outbox sends it after
commit). Nothing is deleted or rewritten: a decided case stands, and a re-examination is a new case whose
determinations supersede the earlier ones by naming them.
"""

import datetime
from collections.abc import Iterable, Mapping

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tolerance.models import (
    DECIDED_STATES,
    STANDARDS,
    UNDECIDED_STATES,
    CaseEvent,
    CaseEvidence,
    CaseKind,
    CaseNotification,
    CaseOpinion,
    CaseState,
    CaseStatement,
    ComplianceReport,
    ExemptionCase,
    ExemptionDetermination,
    InvestmentDocument,
    InvestmentParty,
    standing_determinations,
)
from tolerance.workflow import CASE_NEXT_ROLES, CASE_WORKFLOW, GATHERERS
from valley import audit
from valley.core import roles
from valley.core.errors import DomainError
from valley.core.workflow import TransitionForbidden, TransitionNotAllowed
from valley.messaging.mail import queue_mail

ACTION = CASE_WORKFLOW.name  # "tolerance.exemption_case"
STANDARD_CODES = tuple(code for code, _label in STANDARDS)
REEXAMINERS = frozenset({roles.PORTFOLIO_MANAGER, roles.EXEMPTION_SUPERVISOR, roles.EXEMPTION_DECISION_MAKER})


class CaseError(DomainError):
    """Bad input for a step (a missing reason, a party of another investment): shown next to the field."""


def _locked(case: ExemptionCase) -> ExemptionCase:
    return ExemptionCase.objects.select_for_update(of=("self",)).select_related("investment__fund").get(pk=case.pk)


def _history(case: ExemptionCase, action: str, from_state: str, by, *, comment: str = "", after=None) -> CaseEvent:
    now = timezone.now()
    event = CaseEvent.objects.create(
        case=case, action=action, from_state=from_state, to_state=case.state, by=by, at=now, comment=comment
    )
    audit.record(
        action=action,
        actor=by,
        object_type=ExemptionCase._meta.label_lower,
        object_id=case.pk,
        before={"state": from_state} if from_state else None,
        after={"state": case.state, "investment": case.investment_id, "comment": comment, **(after or {})},
    )
    return event


def _require_role(by, codes: frozenset[str], what: str) -> None:
    if by is None or not roles.has_role(by, *codes):
        raise TransitionForbidden(_("Your role may not “%(action)s”.") % {"action": what})


def _move(case: ExemptionCase, name: str, by) -> str:
    """Check the transition and move the locked case; returns the state it left."""
    transition = CASE_WORKFLOW.check(name, case, by)
    from_state = case.state
    case.state = transition.target
    case.state_changed_at = timezone.now()
    case.save(update_fields=["state", "state_changed_at"])
    return from_state


def _text(value: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise CaseError(message)
    return value


def _date(value, message: str) -> datetime.date:
    if not isinstance(value, datetime.date):
        raise CaseError(message)
    if value > timezone.localdate():
        raise CaseError(_("The date cannot be in the future."))
    return value


def next_actor_emails(state: str) -> list[str]:
    """Addresses of the active users whose role takes the case's next step, and the portfolio managers. One query."""
    from valley.models import User

    codes = set(CASE_NEXT_ROLES[state]) | set(GATHERERS)
    return list(
        User.objects.filter(groups__name__in=codes, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
        .order_by("email")
    )


def _notify_next(case: ExemptionCase) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        facts = {
            "case": case.pk,
            "company": str(case.investment.startup) if case.investment_id else "",
            "step": case.get_state_display(),
            "url": f"{settings.SITE_URL}/tolerance/cases/{case.pk}/",
        }
        subject = _("Exemption case #%(case)s is now “%(step)s”") % facts
        body = "\n".join(
            [
                _("Exemption case #%(case)s (%(company)s) is now “%(step)s”.") % facts,
                _("Case page: %(url)s") % facts,
            ]
        )
    queue_mail(to=next_actor_emails(case.state), subject=subject, body=body)


# ---------------------------------------------------------------------------- evidence and statements


def case_add_evidence(
    *, case: ExemptionCase, by, standard: str, note: str, documents: Iterable[InvestmentDocument] = ()
) -> CaseEvidence:
    """A portfolio manager records evidence on one standard (with documents of the investment) and confirms
    it. While the case is opened; more evidence on a standard is a new row beside the earlier one."""
    with transaction.atomic():
        case = _locked(case)
        _require_role(by, GATHERERS, _("add evidence"))
        if case.state != CaseState.OPENED:
            raise TransitionNotAllowed(
                _("Evidence is added while the case is opened; after that, open a re-examination.")
            )
        if standard not in STANDARD_CODES:
            raise CaseError(_("Choose one of the five standards."))
        note = _text(note, _("Say what shows that the standard was met."))
        documents = list(documents)
        if any(document.investment_id != case.investment_id for document in documents):
            raise CaseError(_("Only documents of this investment can be evidence in its case."))
        evidence = CaseEvidence.objects.create(
            case=case, standard=standard, note=note, confirmed_by=by, confirmed_at=timezone.now()
        )
        evidence.documents.set(documents)
        _history(
            case,
            f"{ACTION}.evidence_added",
            case.state,
            by,
            comment=note,
            after={"evidence": evidence.pk, "standard": standard, "documents": sorted(d.pk for d in documents)},
        )
    return evidence


def case_add_statement(
    *, case: ExemptionCase, by, party: InvestmentParty, text: str, made_on: datetime.date
) -> CaseStatement:
    """A portfolio manager records a party's statement, before the supervisory opinion is given."""
    with transaction.atomic():
        case = _locked(case)
        _require_role(by, GATHERERS, _("record a statement"))
        if case.state not in (CaseState.OPENED, CaseState.EVIDENCE):
            raise TransitionNotAllowed(_("Statements are recorded before the supervisory opinion is given."))
        if party.investment_id != case.investment_id:
            raise CaseError(_("Choose a party of this investment."))
        text = _text(text, _("Write what the party stated."))
        made_on = _date(made_on, _("Give the date of the statement."))
        statement = CaseStatement.objects.create(
            case=case, party=party, text=text, made_on=made_on, recorded_by=by, recorded_at=timezone.now()
        )
        _history(
            case,
            f"{ACTION}.statement_added",
            case.state,
            by,
            after={"statement": statement.pk, "party": party.pk, "made_on": made_on},
        )
    return statement


def missing_standards(case: ExemptionCase) -> list[str]:
    """Labels of the standards that have no evidence in the case yet (one query)."""
    evidenced = set(CaseEvidence.objects.filter(case=case).values_list("standard", flat=True))
    return [str(label) for code, label in STANDARDS if code not in evidenced]


def case_gather_evidence(*, case: ExemptionCase, by, comment: str = "") -> ExemptionCase:
    """Close the gathering of evidence: every one of the five standards has evidence and a confirmer."""
    with transaction.atomic():
        case = _locked(case)
        CASE_WORKFLOW.check("gather_evidence", case, by)
        if missing := missing_standards(case):
            raise CaseError(_("Evidence is still missing on: %(standards)s.") % {"standards": "、".join(missing)})
        from_state = _move(case, "gather_evidence", by)
        _history(case, f"{ACTION}.evidence_gathered", from_state, by, comment=comment.strip())
        _notify_next(case)
    return case


# ---------------------------------------------------------------------------- opinion, determination, notice


def case_give_opinion(*, case: ExemptionCase, by, text: str, given_on: datetime.date) -> CaseOpinion:
    """The business supervisory department gives its opinion on the gathered evidence."""
    with transaction.atomic():
        case = _locked(case)
        CASE_WORKFLOW.check("give_opinion", case, by)
        text = _text(text, _("Write the department's opinion."))
        given_on = _date(given_on, _("Give the date of the opinion."))
        from_state = _move(case, "give_opinion", by)
        opinion = CaseOpinion.objects.create(
            case=case, text=text, given_on=given_on, given_by=by, recorded_at=timezone.now()
        )
        _history(case, f"{ACTION}.opinion_given", from_state, by, comment=text, after={"given_on": given_on})
        _notify_next(case)
    return opinion


def case_determine(
    *,
    case: ExemptionCase,
    by,
    decisions: Mapping[int, tuple[bool, str]],
    meeting_date: datetime.date,
    document_number: str,
) -> list[ExemptionDetermination]:
    """The decision-making body determines the case: for every party of the investment, exempt or not with
    reasons (`decisions`: {party id: (exempt, reasons)}), the meeting date and the document number (文号).

    In a re-examination each new determination names the one it supersedes (the party's standing one),
    which stays as it was: that is how a re-examination revokes or confirms an exemption."""
    with transaction.atomic():
        case = _locked(case)
        CASE_WORKFLOW.check("determine", case, by)
        meeting_date = _date(meeting_date, _("Give the date of the meeting that decided."))
        document_number = _text(document_number, _("Give the document number (文号) of the determination."))
        parties = list(InvestmentParty.objects.filter(investment_id=case.investment_id).order_by("pk"))
        if not parties:
            raise CaseError(_("The investment names no accountable party; add its parties first."))
        unknown = set(decisions) - {party.pk for party in parties}
        if unknown:
            raise CaseError(_("Decide only on the parties of this investment."))
        missing = [str(party) for party in parties if party.pk not in decisions]
        if missing:
            raise CaseError(_("Decide on every party; missing: %(parties)s.") % {"parties": "；".join(missing)})
        standing = {d.party_id: d for d in standing_determinations().filter(investment_id=case.investment_id)}
        now = timezone.now()
        rows = []
        for party in parties:
            exempt, reason = decisions[party.pk]
            reason = _text(reason, _("Give the reasons of the determination on %(party)s.") % {"party": party})
            rows.append(
                ExemptionDetermination(
                    case=case,
                    report=case.report,
                    investment_id=case.investment_id,
                    party=party,
                    exempt=bool(exempt),
                    reason=reason,
                    meeting_date=meeting_date,
                    document_number=document_number,
                    determined_at=now,
                    determined_by=by,
                    supersedes=standing.get(party.pk),
                )
            )
        from_state = _move(case, "determine", by)
        ExemptionDetermination.objects.bulk_create(rows)
        _history(
            case,
            f"{ACTION}.determined",
            from_state,
            by,
            after={
                "meeting_date": meeting_date,
                "document_number": document_number,
                "columns": ["id", "party_id", "exempt", "supersedes_id"],
                "determinations": [[d.pk, d.party_id, d.exempt, d.supersedes_id] for d in rows],
            },
        )
        _notify_next(case)
    return rows


def case_notify(*, case: ExemptionCase, by, notified_on: datetime.date, how: str) -> CaseNotification:
    """Record how and when the parties were told of the determination; this closes the case."""
    with transaction.atomic():
        case = _locked(case)
        CASE_WORKFLOW.check("notify", case, by)
        notified_on = _date(notified_on, _("Give the date the parties were notified."))
        how = _text(how, _("Say how the parties were notified."))
        from_state = _move(case, "notify", by)
        notice = CaseNotification.objects.create(
            case=case, notified_on=notified_on, how=how, recorded_by=by, recorded_at=timezone.now()
        )
        _history(case, f"{ACTION}.notified", from_state, by, comment=how, after={"notified_on": notified_on})
    return notice


# ---------------------------------------------------------------------------- re-examination


def case_reexamine(*, case: ExemptionCase, by, reason: str, report: ComplianceReport | None = None) -> ExemptionCase:
    """Open a re-examination of a decided case (new evidence, or a later breach): a new case naming it.

    The decided case and its determinations are not touched; the re-examination's determination may
    revoke them by new rows. Only the latest decided case of an investment is re-examined, and not while
    another case of it is being worked on. `by=None` is the compliance check (with the report it relied on).
    """
    if by is not None:
        _require_role(by, REEXAMINERS, _("open a re-examination"))
    reason = _text(reason, _("Say why the case is re-examined."))
    with transaction.atomic():
        case = _locked(case)
        if case.state not in DECIDED_STATES:
            raise TransitionNotAllowed(_("Only a decided case can be re-examined; this one is still being worked on."))
        if case.reexaminations.exists():
            raise TransitionNotAllowed(_("This case has already been re-examined; re-examine the latest case."))
        if ExemptionCase.objects.filter(investment_id=case.investment_id, state__in=UNDECIDED_STATES).exists():
            raise TransitionNotAllowed(_("Another case of this investment is being worked on."))
        if report is None:
            report = ComplianceReport.objects.filter(fund_id=case.investment.fund_id).order_by("-as_of").first()
        now = timezone.now()
        try:
            with transaction.atomic():
                new = ExemptionCase.objects.create(
                    investment_id=case.investment_id,
                    kind=CaseKind.REEXAMINATION,
                    reexamines=case,
                    report=report,
                    governing_basis=report.governing_basis if report else "",
                    governing_rate=report.governing_rate if report else None,
                    opened_by_check=by is None,
                    opened_by=by,
                    reason=reason,
                    state=CaseState.OPENED,
                    opened_at=now,
                    state_changed_at=now,
                )
        except IntegrityError as error:  # another re-examination was opened at the same moment
            raise TransitionNotAllowed(_("Another case of this investment is being worked on.")) from error
        new.investment = case.investment
        _history(new, f"{ACTION}.reexamination_opened", "", by, comment=reason, after={"reexamines": case.pk})
        _notify_next(new)
    return new
