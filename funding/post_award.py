"""The grant after the money starts moving (DOMAIN.md "After the grant"): fund-use reports, the final
acceptance and recovery. The release of instalments itself is services.application_disburse.

Same rules as funding.services: each step is one function that locks the application (then the report or
the order), checks the state and the role against its workflow table, changes what it changes, appends the
history row with its audit entry, and queues mail after commit.
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from funding import services
from funding.messages import system_message
from funding.models import (
    EXPENSE_CATEGORIES,
    Application,
    ExpenseLine,
    FinalAcceptance,
    FundUseReport,
    FundUseReportEvent,
    MilestoneProgress,
    RecoveryOrder,
    Repayment,
)
from funding.notifications import notify_report
from funding.services import FundingError, _budget_locked, _budget_moved, _lock, _transition
from funding.workflow import REPORT_EDITABLE_STATES, REPORT_WORKFLOW
from teams.services import document_upload
from valley import audit
from valley.core import scoping
from valley.core.workflow import TransitionForbidden, TransitionNotAllowed

R = FundUseReport.State
CATEGORY_CODES = frozenset(code for code, _label in EXPENSE_CATEGORIES)

# ---------------------------------------------------------------------------- fund-use reports


def _report_locked(report: FundUseReport) -> tuple[Application, FundUseReport]:
    """The application's row lock first (the order every money step takes), then the report's."""
    app = _lock(report.application)
    locked = FundUseReport.objects.select_for_update(of=("self",)).select_related("instalment").get(pk=report.pk)
    locked.application = app
    return app, locked


def _owner_editing(by, app: Application, report: FundUseReport) -> None:
    if app.entity.owner_id != getattr(by, "pk", None):
        raise TransitionForbidden(_("Only the grant holder files its fund-use reports."))
    if report.state not in REPORT_EDITABLE_STATES:
        raise TransitionNotAllowed(
            _("The report is “%(state)s”; it can be changed only before it is submitted or after it is returned.")
            % {"state": report.get_state_display()}
        )


def _report_history(report: FundUseReport, action: str, from_state: str, by, comment: str = "") -> None:
    FundUseReportEvent.objects.create(
        report=report, action=action, from_state=from_state, to_state=report.state, by=by, comment=comment
    )
    audit.record(
        action=action,
        actor=by,
        object_type=FundUseReport._meta.label_lower,
        object_id=report.pk,
        before={"state": from_state},
        after={"state": report.state, "comment": comment, "application": report.application_id},
    )


def spend_problem(spent: Decimal, disbursed: Decimal) -> str | None:
    """Why this spend cannot stand on its own (a translated reason), or None: the form of the report page
    shows it next to the spend, and expense_lines_problem includes it."""
    if spent > disbursed:
        return _("The spend of %(spent)s yuan is more than the %(disbursed)s yuan disbursed so far.") % {
            "spent": f"{spent:,.2f}",
            "disbursed": f"{disbursed:,.2f}",
        }
    return None


def expense_lines_problem(spent, lines, disbursed: Decimal) -> str | None:
    """Why these lines and this spend cannot stand (a translated reason), or None. `lines` are dicts with
    category, amount (Decimal) and description."""
    total = sum((line["amount"] for line in lines), Decimal("0.00"))
    if any(line["amount"] <= 0 for line in lines):
        return _("Each expense line needs an amount of more than zero.")
    if any(line["category"] not in CATEGORY_CODES for line in lines):
        return _("Choose a category for each expense line.")
    if problem := spend_problem(spent, disbursed):
        return problem
    if total != spent:
        return _("The expense lines add up to %(total)s yuan, not the %(spent)s yuan reported as spent.") % {
            "total": f"{total:,.2f}",
            "spent": f"{spent:,.2f}",
        }
    return None


def _money(value) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise FundingError(_("Write amounts in yuan, e.g. 12000 or 12000.50.")) from None
    if not amount.is_finite():
        raise FundingError(_("Write amounts in yuan, e.g. 12000 or 12000.50."))
    return amount


def report_save(*, report: FundUseReport, by, spent, summary: str, lines, progress: dict | None = None):
    """Save the applicant's draft: the spend, its expense lines (replaced as a whole), a summary and the
    progress on each milestone of the agreement ({order: text})."""
    spent = _money(spent)
    cleaned = [
        {
            "category": str(line.get("category", "")),
            "amount": _money(line.get("amount")),
            "description": str(line.get("description", ""))[:200],
        }
        for line in lines
    ]
    with transaction.atomic():
        app, locked = _report_locked(report)
        _owner_editing(by, app, locked)
        if problem := expense_lines_problem(spent, cleaned, locked.disbursed):
            raise FundingError(problem)
        before = {**audit.snapshot(locked), "lines": [_line_dict(line) for line in locked.lines.all()]}
        locked.spent, locked.summary = spent, summary
        locked.save(update_fields=["spent", "summary"])
        locked.lines.all().delete()
        ExpenseLine.objects.bulk_create(ExpenseLine(report=locked, **line) for line in cleaned)
        _save_progress(app, locked, progress or {})
        audit.record_changed(
            locked,
            action="funding.fund_use_report.changed",
            before=before,
            actor=by,
            extra={"lines": [{**line, "amount": str(line["amount"])} for line in cleaned]},
        )
    return locked


def _line_dict(line: ExpenseLine) -> dict:
    return {"category": line.category, "amount": str(line.amount), "description": line.description}


def _save_progress(app: Application, report: FundUseReport, progress: dict) -> None:
    """One row per milestone of the agreement as it stands now, with the applicant's text."""
    milestones = list(app.agreement.milestones.order_by("order"))
    existing = {row.order: row for row in report.progress.all()}
    report.progress.exclude(order__in=[m.order for m in milestones]).delete()
    for milestone in milestones:
        text = str(progress.get(milestone.order, progress.get(str(milestone.order), "")))
        row = existing.get(milestone.order)
        if row is None:
            MilestoneProgress.objects.create(
                report=report, order=milestone.order, milestone=milestone.title, due_on=milestone.due_on, progress=text
            )
        else:
            row.milestone, row.due_on, row.progress = milestone.title, milestone.due_on, text
            row.save(update_fields=["milestone", "due_on", "progress"])


def report_attach_document(*, report: FundUseReport, by, title: str, upload):
    """An invoice or contract, checked like every document of the entity (valley.core.documents), attached."""
    with transaction.atomic():
        app, locked = _report_locked(report)
        _owner_editing(by, app, locked)
        document = document_upload(entity=app.entity, by=by, title=title, upload=upload)
        locked.documents.add(document)
        _report_history(
            locked,
            "funding.fund_use_report.document_attached",
            locked.state,
            by,
            _("Document attached: %(title)s") % {"title": title},
        )
    return document


def report_detach_document(*, report: FundUseReport, by, document) -> None:
    with transaction.atomic():
        app, locked = _report_locked(report)
        _owner_editing(by, app, locked)
        locked.documents.remove(document)
        _report_history(
            locked,
            "funding.fund_use_report.document_detached",
            locked.state,
            by,
            _("Document removed: %(title)s") % {"title": document.title},
        )


def _report_transition(report: FundUseReport, name: str, *, by, comment: str = "", apply=None) -> FundUseReport:
    with transaction.atomic():
        app, locked = _report_locked(report)
        transition = REPORT_WORKFLOW.check(name, locked, by)
        if by is not None and app.entity.owner_id != by.pk and not scoping.may_work_on_sub_venue(by, app.sub_venue_id):
            raise TransitionForbidden(_("This grant belongs to a sub-venue you do not operate."))
        if transition.needs_comment and not comment.strip():
            raise FundingError(_("Write a comment for the applicant: it says what to change."))
        if app.state != Application.State.DISBURSEMENT:
            raise TransitionNotAllowed(
                _("The grant is “%(state)s”; its reports are no longer worked on.") % {"state": app.get_state_display()}
            )
        before = audit.snapshot(locked)
        from_state = locked.state
        fields = apply(locked) if apply else []
        locked.state = transition.target
        locked.save(update_fields=["state", *fields])
        audit.record_changed(locked, action="funding.fund_use_report.changed", before=before, actor=by)
        _report_history(locked, f"{REPORT_WORKFLOW.name}.{name}", from_state, by, comment)
        notify_report(locked, name, comment)
    return locked


def report_submit(*, report: FundUseReport, by, comment: str = "") -> FundUseReport:
    """The applicant submits the report: the lines add up, the spend is within what was disbursed, and
    spend comes with its invoices and contracts."""

    def apply(locked: FundUseReport) -> list[str]:
        lines = [
            {"category": line.category, "amount": line.amount, "description": line.description}
            for line in locked.lines.all()
        ]
        if not lines:
            raise FundingError(_("Add the expense lines of the spend before submitting."))
        if problem := expense_lines_problem(locked.spent, lines, locked.disbursed):
            raise FundingError(problem)
        if not locked.documents.exists():
            raise FundingError(_("Attach the invoices and contracts of the spend before submitting."))
        locked.submitted_at = timezone.now()
        return ["submitted_at"]

    return _report_transition(report, "submit", by=by, comment=comment, apply=apply)


def report_accept(*, report: FundUseReport, by, comment: str = "") -> FundUseReport:
    def apply(locked: FundUseReport) -> list[str]:
        locked.decided_at, locked.decided_by = timezone.now(), by
        return ["decided_at", "decided_by"]

    return _report_transition(report, "accept", by=by, comment=comment, apply=apply)


def report_return(*, report: FundUseReport, by, comment: str) -> FundUseReport:
    def apply(locked: FundUseReport) -> list[str]:
        locked.decided_at, locked.decided_by = timezone.now(), by
        return ["decided_at", "decided_by"]

    return _report_transition(report, "return", by=by, comment=comment, apply=apply)


# ---------------------------------------------------------------------------- final acceptance


def acceptance_record(
    *, application: Application, by, result: str, reasons: str, accepted_on: datetime.date
) -> FinalAcceptance:
    """Record the final acceptance: passed lets the last instalment be released (and the grant closes with
    it); failed leaves a recovery as the way to close the grant."""
    if result not in FinalAcceptance.Result.values:
        raise FundingError(_("Choose passed or failed."))
    created: list[FinalAcceptance] = []

    def apply(app: Application) -> list[str]:
        acceptance = FinalAcceptance.objects.create(
            application=app, result=result, reasons=reasons, accepted_on=accepted_on, recorded_by=by
        )
        audit.record_created(acceptance, action="funding.acceptance.created", actor=by)
        created.append(acceptance)
        return []

    _transition(
        application,
        "record_acceptance",
        by=by,
        # The result is the portal's to say (in the reader's language), the reasons are as staff typed them.
        comment=reasons,
        message=system_message("acceptance_recorded", result=result),
        apply=apply,
    )
    return created[0]


# ---------------------------------------------------------------------------- recovery


def recovery_amount_problem(app: Application, amount: Decimal) -> str | None:
    """Why a recovery order of `amount` cannot be opened on `app` (a translated reason), or None: more than
    zero, at most what was disbursed. Forms call it to show the reason beside the field."""
    if amount <= 0:
        return _("The amount to recover must be more than zero.")
    if amount > app.disbursed_total:
        return _("At most the %(disbursed)s yuan disbursed can be recovered.") % {
            "disbursed": f"{app.disbursed_total:,.2f}"
        }
    return None


def repayment_amount_problem(order: RecoveryOrder, amount: Decimal) -> str | None:
    """Why a repayment of `amount` cannot be recorded against `order` (a translated reason), or None."""
    if amount <= 0:
        return _("The repayment must be more than zero.")
    if amount > order.outstanding:
        return _("Only %(outstanding)s yuan of the recovery order is outstanding.") % {
            "outstanding": f"{order.outstanding:,.2f}"
        }
    return None


def recovery_open(*, application: Application, by, reason: str, explanation: str, amount) -> RecoveryOrder:
    """Open a recovery order of at most what was disbursed. The grant stops: what was never paid leaves the
    budget's reserve now; what is repaid leaves it as it comes in (recovery_repay)."""
    amount = _money(amount)
    if reason not in RecoveryOrder.Reason.values:
        raise FundingError(_("Choose the reason for the recovery."))
    created: list[RecoveryOrder] = []

    def apply(app: Application) -> list[str]:
        if problem := recovery_amount_problem(app, amount):
            raise FundingError(problem)
        budget = _budget_locked(app.budget_id)
        unpaid = app.remaining_to_disburse
        order = RecoveryOrder.objects.create(
            application=app,
            reason=reason,
            explanation=explanation,
            amount=amount,
            disbursed_when_opened=app.disbursed_total,
            opened_by=by,
        )
        audit.record_created(order, action="funding.recovery.created", actor=by)
        created.append(order)
        if unpaid:
            _budget_moved(budget, by, reserved=-unpaid)
            app.reserve_released += unpaid
        return ["reserve_released"]

    _transition(application, "open_recovery", by=by, comment=explanation, apply=apply)
    return created[0]


def recovery_repay(*, application: Application, by, amount, paid_on: datetime.date, reference: str) -> Repayment:
    """Record a repayment: the money goes back to the budget it was reserved from. The repayment that
    completes the order completes the recovery, which closes the grant."""
    amount = _money(amount)
    created: list[Repayment] = []

    def apply(app: Application) -> list[str]:
        order = RecoveryOrder.objects.select_for_update(of=("self",)).get(application=app)
        if problem := repayment_amount_problem(order, amount):
            raise FundingError(problem)
        budget = _budget_locked(app.budget_id)
        repayment = Repayment.objects.create(
            order=order, amount=amount, paid_on=paid_on, reference=reference, recorded_by=by
        )
        audit.record_created(repayment, action="funding.repayment.created", actor=by)
        created.append(repayment)
        before = audit.snapshot(order)
        order.recovered += amount
        if order.outstanding == 0:
            order.state, order.completed_at = RecoveryOrder.State.COMPLETED, timezone.now()
        order.save(update_fields=["recovered", "state", "completed_at"])
        audit.record_changed(order, action="funding.recovery.changed", before=before, actor=by)
        _budget_moved(budget, by, reserved=-amount, recovered=amount)
        app.recovered_total += amount
        return ["recovered_total"]

    with transaction.atomic():
        try:
            app = _transition(
                application,
                "record_repayment",
                by=by,
                apply=apply,
                message=system_message("repayment_received", amount=amount, date=paid_on),
            )
        except IntegrityError as error:  # pragma: no cover - the checks above come first
            raise FundingError(_("The repayment breaks a rule of the fund and was not saved.")) from error
        if app.recovery.state == RecoveryOrder.State.COMPLETED:
            services._transition(app, "complete_recovery", by=None, message=system_message("recovery_repaid"))
    return created[0]
