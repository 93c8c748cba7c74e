"""Post-investment monitoring (DOMAIN.md "Post-investment monitoring"): the quarterly company reports.

Which quarters are due: every calendar quarter from the one in which the startup received its first
investment (of any fund) up to the last quarter that has ended, for as long as the startup has an active
investment (one not exited or failed). A report already opened stays when the investment later exits or
fails (it is history); no new quarter opens after that. Rows are opened "to be filed" by
`company_reports_open_due`, which the daily reminder run calls for every startup and the startup's own
page calls for that startup, so a quarter appears as soon as it has ended.

A report is due REPORT_WORKING_DAYS working days after the quarter's last day, counted by the one working-day
calendar from the first working day after it (valley.core.calendar.add_working_days). It is late when it is
submitted after its due date, overdue while still to be filed (or returned) after it.

Each step is one function: it locks the report, checks the state and role against tolerance/workflow.py's
REPORT_WORKFLOW, writes the change, the history row (CompanyReportEvent) and the audit entry in one
transaction; mail goes through the outbox in the same transaction.
"""

import datetime
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tolerance.models import (
    REPORT_FIGURES,
    REPORT_MONEY_FIGURES,
    CompanyReport,
    CompanyReportEvent,
    Investment,
)
from tolerance.workflow import REPORT_EDITABLE_STATES, REPORT_WORKFLOW
from valley import audit
from valley.core.calendar import add_working_days
from valley.core.errors import DomainError
from valley.core.workflow import TransitionForbidden, TransitionNotAllowed
from valley.messaging.mail import queue_mail
from valley.messaging.reminders import Reminder, ReminderMail, reminder_horizon, send_due_reminders

REPORT_WORKING_DAYS = 30
R = CompanyReport.State
# Still the startup's to file: a reminder may be due, and past the due date it is overdue.
TO_FILE_STATES = REPORT_EDITABLE_STATES
MAX_MONEY = Decimal("999999999999.99")  # MONEY: 14 digits, 2 of them decimals
MAX_COUNT = 2_147_483_647


class MonitoringError(DomainError):
    """A monitoring rule refused the action; `message` says why (translated)."""


class InvalidFigures(MonitoringError):
    """Figures that cannot be saved. `errors` maps each figure's field name to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(_("Correct the figures marked below."))
        self.errors = errors


# ---------------------------------------------------------------------------- quarters and due dates


def quarter_of(day: datetime.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_end(year: int, quarter: int) -> datetime.date:
    if quarter == 4:
        return datetime.date(year, 12, 31)
    return datetime.date(year, quarter * 3 + 1, 1) - datetime.timedelta(days=1)


def next_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year + 1, 1) if quarter == 4 else (year, quarter + 1)


def last_ended_quarter(today: datetime.date) -> tuple[int, int]:
    year, quarter = quarter_of(today)
    return (year - 1, 4) if quarter == 1 else (year, quarter - 1)


def report_due_on(year: int, quarter: int) -> datetime.date:
    """30 working days after the quarter's last day, the first of them the first working day after it. One query."""
    return add_working_days(quarter_end(year, quarter), REPORT_WORKING_DAYS)


# ---------------------------------------------------------------------------- opening the quarters due


def _history(report: CompanyReport, action: str, from_state: str, by, comment: str = "", after: dict | None = None):
    CompanyReportEvent.objects.create(
        report=report, action=action, from_state=from_state, to_state=report.state, by=by, comment=comment
    )
    audit.record(
        action=action,
        actor=by,
        object_type=CompanyReport._meta.label_lower,
        object_id=report.pk,
        before={"state": from_state},
        after={"state": report.state, "comment": comment, "entity": report.entity_id, **(after or {})},
    )


def company_reports_open_due(*, today: datetime.date | None = None, entity_ids=None) -> list[CompanyReport]:
    """Open ("to be filed") every quarterly report due by the rule above that does not exist yet, for every
    startup or those in `entity_ids`; returns the reports opened. Safe to run any number of times, also
    several at once (the unique constraint on entity, year and quarter). Queries: two to find what is due
    and what exists, then per distinct quarter opened one for its due date, and per report its rows."""
    today = today or timezone.localdate()
    startups = Investment.objects.order_by().values("startup_id")
    if entity_ids is not None:
        startups = startups.filter(startup_id__in=list(entity_ids))
    startups = startups.annotate(
        first=Min("invested_on"), active=Count("pk", filter=Q(state=Investment.State.ACTIVE))
    ).filter(active__gt=0)
    last = last_ended_quarter(today)
    wanted: list[tuple[int, int, int]] = []
    for row in startups:
        period = quarter_of(row["first"])
        while period <= last:
            wanted.append((row["startup_id"], *period))
            period = next_quarter(*period)
    if not wanted:
        return []
    existing = set(
        CompanyReport.objects.filter(entity_id__in={entity_id for entity_id, _y, _q in wanted}).values_list(
            "entity_id", "year", "quarter"
        )
    )
    due_dates: dict[tuple[int, int], datetime.date] = {}
    opened = []
    for entity_id, year, quarter in wanted:
        if (entity_id, year, quarter) in existing:
            continue
        if (year, quarter) not in due_dates:
            due_dates[year, quarter] = report_due_on(year, quarter)
        try:
            with transaction.atomic():
                report = CompanyReport.objects.create(
                    entity_id=entity_id, year=year, quarter=quarter, due_on=due_dates[year, quarter]
                )
                _history(report, f"{REPORT_WORKFLOW.name}.opened", "", None, after={"due_on": str(report.due_on)})
        except IntegrityError:  # a run beside this one opened it first
            continue
        opened.append(report)
    return opened


# ---------------------------------------------------------------------------- the startup's figures


def clean_figures(values: Mapping) -> dict:
    """The six figures as numbers (money as Decimal with fen, counts as int), or InvalidFigures saying, per
    figure, what is wrong. A figure left out or empty is an error: a filed report has all six."""
    cleaned, errors = {}, {}
    for name in REPORT_FIGURES:
        raw = values.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            errors[name] = _("Enter this figure (0 if there is nothing to report).")
            continue
        if name in REPORT_MONEY_FIGURES:
            try:
                amount = Decimal(str(raw).strip().replace(",", ""))
            except (InvalidOperation, ValueError):
                errors[name] = _("Write an amount in yuan, e.g. 120000 or 120000.50.")
                continue
            if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
                errors[name] = _("Write an amount in yuan with at most two decimals.")
            elif amount < 0:
                errors[name] = _("An amount cannot be negative.")
            elif amount > MAX_MONEY:
                errors[name] = _("This amount is too large.")
            else:
                cleaned[name] = amount.quantize(Decimal("0.01"))
        else:
            try:
                number = int(str(raw).strip())
            except ValueError:
                errors[name] = _("Write a whole number, e.g. 12.")
                continue
            if number < 0:
                errors[name] = _("A count cannot be negative.")
            elif number > MAX_COUNT:
                errors[name] = _("This number is too large.")
            else:
                cleaned[name] = number
    if errors:
        raise InvalidFigures(errors)
    return cleaned


def _locked(report: CompanyReport) -> CompanyReport:
    return CompanyReport.objects.select_for_update(of=("self",)).select_related("entity").get(pk=report.pk)


def company_report_save(*, report: CompanyReport, by, figures: Mapping, note: str | None = None) -> CompanyReport:
    """Save the startup's figures (all six, see clean_figures) while the report is to be filed or returned.
    Only the owner of the startup's entity saves them (or the system, by=None: the demo seeds)."""
    cleaned = clean_figures(figures)
    with transaction.atomic():
        locked = _locked(report)
        if by is not None and locked.entity.owner_id != by.pk:
            raise TransitionForbidden(_("Only the startup files its quarterly reports."))
        if locked.state not in REPORT_EDITABLE_STATES:
            raise TransitionNotAllowed(
                _("The report is “%(state)s”; it can be changed only before it is submitted or after it is returned.")
                % {"state": locked.get_state_display()}
            )
        before = audit.snapshot(locked)
        for name, value in cleaned.items():
            setattr(locked, name, value)
        fields = list(REPORT_FIGURES)
        if note is not None:
            locked.note = note
            fields.append("note")
        locked.save(update_fields=fields)
        audit.record_changed(locked, action=f"{REPORT_WORKFLOW.name}.changed", before=before, actor=by)
    return locked


def _transition(report: CompanyReport, name: str, *, by, comment: str = "", apply=None) -> CompanyReport:
    with transaction.atomic():
        locked = _locked(report)
        transition = REPORT_WORKFLOW.check(name, locked, by)
        if transition.needs_comment and not comment.strip():
            raise MonitoringError(_("Write a comment for the startup: it says what to change."))
        from_state = locked.state
        fields = apply(locked) if apply else []
        locked.state = transition.target
        locked.save(update_fields=["state", *fields])
        _history(locked, f"{REPORT_WORKFLOW.name}.{name}", from_state, by, comment)
        if name == "return":
            _mail_returned(locked, comment)
    return locked


def company_report_submit(
    *, report: CompanyReport, by, comment: str = "", submitted_at: datetime.datetime | None = None
) -> CompanyReport:
    """The startup submits its saved figures: every one must be there. `submitted_at` (when it was filed, if
    that was earlier than now) only for the system (by=None): the demo seeds, or reports filed on paper."""
    if submitted_at is not None and by is not None:
        raise TransitionForbidden(_("Only the system records a filing date in the past."))

    def apply(locked: CompanyReport) -> list[str]:
        if any(getattr(locked, name) is None for name in REPORT_FIGURES):
            raise MonitoringError(_("Save every figure of the report before submitting it."))
        locked.submitted_at, locked.submitted_by = submitted_at or timezone.now(), by
        return ["submitted_at", "submitted_by"]

    return _transition(report, "submit", by=by, comment=comment, apply=apply)


def company_report_accept(*, report: CompanyReport, by, comment: str = "") -> CompanyReport:
    def apply(locked: CompanyReport) -> list[str]:
        locked.decided_at, locked.decided_by = timezone.now(), by
        return ["decided_at", "decided_by"]

    return _transition(report, "accept", by=by, comment=comment, apply=apply)


def company_report_return(*, report: CompanyReport, by, comment: str) -> CompanyReport:
    def apply(locked: CompanyReport) -> list[str]:
        locked.decided_at, locked.decided_by = timezone.now(), by
        return ["decided_at", "decided_by"]

    return _transition(report, "return", by=by, comment=comment, apply=apply)


# ---------------------------------------------------------------------------- mail and reminders


def _startup_emails(report: CompanyReport) -> list[str]:
    entity = report.entity
    owner_email = entity.owner.email if entity.owner_id else ""
    return sorted({address for address in (entity.contact_email, owner_email) if address})


def _in_both_languages(render) -> tuple[str, str]:
    with translation.override("zh-hans"):
        subject, body_zh = render()
    with translation.override("en"):
        _subject, body_en = render()
    return subject, f"{body_zh}\n\n----\n{body_en}\n"


def _mail_returned(report: CompanyReport, comment: str) -> None:
    def render():
        subject = _("Quarterly report %(period)s returned for changes") % {"period": report.period}
        body = _("The quarterly report of %(entity)s for %(period)s was returned for changes:\n\n%(comment)s") % {
            "entity": report.entity.name,
            "period": report.period,
            "comment": comment,
        }
        return subject, body

    subject, body = _in_both_languages(render)
    queue_mail(to=_startup_emails(report), subject=subject, body=body)


def reports_to_remind(*, today: datetime.date) -> QuerySet[CompanyReport]:
    """The reports a reminder may be due for today: still the startup's to file, of a startup with an active
    investment, due early enough for the first reminder to have come; with the entity and its owner (one
    query, plus one for the calendar)."""
    active = Investment.objects.filter(startup=OuterRef("entity"), state=Investment.State.ACTIVE)
    return (
        CompanyReport.objects.filter(state__in=TO_FILE_STATES, due_on__lte=reminder_horizon(today=today))
        .filter(Exists(active))
        .select_related("entity__owner")
        .order_by("due_on", "pk")
    )


def report_reminder_mails(report: CompanyReport, reminder: Reminder) -> list[ReminderMail]:
    """The startup is told each time; portfolio managers with the first overdue reminder (one query)."""
    from tolerance.selectors import portfolio_manager_emails

    def render():
        values = {
            "entity": report.entity.name,
            "period": report.period,
            "due_on": report.due_on.isoformat(),
            "days": reminder.working_days_late if reminder.is_overdue else reminder.working_days_left,
        }
        if reminder.is_overdue:
            subject = _("Quarterly report %(period)s is overdue") % values
            body = (
                _(
                    "The quarterly report of %(entity)s for %(period)s was due on %(due_on)s and is %(days)s working "
                    "day(s) late. File it on the portal now."
                )
                % values
            )
        else:
            subject = _("Quarterly report %(period)s is due on %(due_on)s") % values
            body = (
                _(
                    "The quarterly report of %(entity)s for %(period)s is due on %(due_on)s (%(days)s working day(s) "
                    "left): revenue, employees, R&D spend, patents filed and granted, follow-on funding raised."
                )
                % values
            )
        return subject, body

    subject, body = _in_both_languages(render)
    mails = [ReminderMail(to=_startup_emails(report), subject=subject, body=body)]
    if reminder.is_first_overdue:
        mails.append(ReminderMail(to=portfolio_manager_emails(), subject=subject, body=body))
    return mails


def company_report_reminders_send(*, today: datetime.date | None = None) -> list[tuple[int, str]]:
    """Open the quarters that have become due, then send the reminders due today (Asia/Shanghai) that have not
    gone out (valley.messaging.reminders: 14 and 3 working days before, on the day, weekly overdue); returns
    (report id, kind) of each sent. Safe to run any number of times, also several at once."""
    today = today or timezone.localdate()
    company_reports_open_due(today=today)
    sent = send_due_reminders(reports_to_remind(today=today), today=today, compose=report_reminder_mails)
    return [(report.pk, kind) for report, kind in sent]
