"""Who hears about each step of an application, and what they are told."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from funding.selectors import report_filed_on, working_days_late
from funding.workflow import QUEUES
from valley.core import roles
from valley.messaging.mail import queue_mail
from valley.messaging.reminders import Reminder, ReminderMail


def _staff_emails_for_state(state: str, sub_venue_id: int | None) -> list[str]:
    role_codes = {role for _label, role, states in QUEUES.values() if state in states}
    if not role_codes:
        return []
    return _staff_emails_for_role(*role_codes, sub_venue_id=sub_venue_id)


def _staff_emails_for_role(*role_codes: str, sub_venue_id: int | None) -> list[str]:
    candidates = get_user_model().objects.filter(is_active=True, groups__name__in=role_codes)
    # Operators hear only about their own sub-venues; everyone else about all of them.
    elsewhere = candidates.filter(groups__name=roles.SUB_VENUE_OPERATOR).exclude(sub_venues=sub_venue_id)
    return sorted(set(candidates.exclude(pk__in=elsewhere.values("pk")).values_list("email", flat=True)))


def _render(application, event, language: str) -> tuple[str, str]:
    with translation.override(language):
        state = application.get_state_display()
        subject = _("[Shanxi Innovation Valley] Application #%(id)s: %(state)s") % {
            "id": application.pk,
            "state": state,
        }
        lines = [
            _("Application #%(id)s for %(entity)s is now: %(state)s.")
            % {"id": application.pk, "entity": application.entity.name, "state": state},
        ]
        # The portal's message is rendered here, in each language of the mail; staff's comment as typed.
        if text := event.text:
            lines.append(_("Comment: %(comment)s") % {"comment": text})
        lines.append(
            _("Details: %(url)s") % {"url": settings.SITE_URL + reverse("funding:detail", args=[application.pk])}
        )
        return subject, "\n".join(lines)


def notify_transition(application, event) -> None:
    """Mail the applicant and the staff whose queue the application enters (sent after commit)."""
    subject_zh, body_zh = _render(application, event, "zh-hans")
    _subject_en, body_en = _render(application, event, "en")
    body = f"{body_zh}\n\n----\n{body_en}\n"
    applicant_emails = {application.entity.contact_email, getattr(application.entity.owner, "email", "")}
    queue_mail(to=sorted(filter(None, applicant_emails)), subject=subject_zh, body=body)
    staff = _staff_emails_for_state(application.state, application.sub_venue_id)
    if staff:
        queue_mail(to=staff, subject=subject_zh, body=body)


def _render_report(report, name: str, comment: str, language: str) -> tuple[str, str]:
    with translation.override(language):
        subject = _("[Shanxi Innovation Valley] Fund-use report on instalment %(number)s: %(state)s") % {
            "number": report.instalment.number,
            "state": report.get_state_display(),
        }
        lines = [
            _("The fund-use report on instalment %(number)s of application #%(id)s is now: %(state)s.")
            % {"number": report.instalment.number, "id": report.application_id, "state": report.get_state_display()}
        ]
        if comment:
            lines.append(_("Comment: %(comment)s") % {"comment": comment})
        lines.append(_("Details: %(url)s") % {"url": settings.SITE_URL + reverse("funding:report", args=[report.pk])})
        return subject, "\n".join(lines)


def notify_report(report, name: str, comment: str) -> None:
    """A decision on a report reaches the applicant; a submitted report reaches the finance officers."""
    subject, body_zh = _render_report(report, name, comment, "zh-hans")
    _subject_en, body_en = _render_report(report, name, comment, "en")
    body = f"{body_zh}\n\n----\n{body_en}\n"
    if name == "submit":
        staff = _staff_emails_for_role(roles.FINANCE_OFFICER, sub_venue_id=report.application.sub_venue_id)
        queue_mail(to=staff, subject=subject, body=body)
        return
    entity = report.application.entity
    queue_mail(
        to=sorted(filter(None, {entity.contact_email, getattr(entity.owner, "email", "")})), subject=subject, body=body
    )


def _applicant_emails(application) -> list[str]:
    entity = application.entity
    return sorted(filter(None, {entity.contact_email, getattr(entity.owner, "email", "")}))


def _reminder_subject(reminder: Reminder, what: dict, *, for_staff: bool) -> str:
    if for_staff:
        return (
            _("[Shanxi Innovation Valley] Overdue fund-use report: application #%(id)s, instalment %(number)s") % what
        )
    if reminder.is_overdue:
        return _("[Shanxi Innovation Valley] The fund-use report on instalment %(number)s is overdue") % what
    if reminder.kind == "due":
        return _("[Shanxi Innovation Valley] The fund-use report on instalment %(number)s is due today") % what
    return _("[Shanxi Innovation Valley] The fund-use report on instalment %(number)s is due on %(date)s") % what


def _render_reminder(report, reminder: Reminder, language: str, *, for_staff: bool) -> tuple[str, str]:
    with translation.override(language):
        app = report.application
        what = {
            "number": report.instalment.number,
            "id": app.pk,
            "entity": app.entity.name,
            "date": date_format(reminder.due_on, "DATE_FORMAT"),
        }
        if reminder.is_overdue:
            lines = [
                _(
                    "The fund-use report on instalment %(number)s of application #%(id)s (%(entity)s) was due on "
                    "%(date)s and has not been accepted yet."
                )
                % what
            ]
        else:
            lines = [
                _(
                    "The fund-use report on instalment %(number)s of application #%(id)s (%(entity)s) is due on "
                    "%(date)s."
                )
                % what
            ]
            if left := reminder.working_days_left:
                lines.append(
                    ngettext(
                        "That is %(count)s working day from today.", "That is %(count)s working days from today.", left
                    )
                    % {"count": left}
                )
        filed_on = report_filed_on(report)
        late = working_days_late(report, reminder.today, calendar=reminder.calendar)
        if filed_on:
            submitted = {"date": date_format(filed_on, "DATE_FORMAT"), "count": late}
            lines.append(_("It was submitted on %(date)s and is waiting for review.") % submitted)
            if late:
                lines.append(
                    ngettext(
                        "It was submitted %(count)s working day late.",
                        "It was submitted %(count)s working days late.",
                        late,
                    )
                    % submitted
                )
        elif reminder.is_overdue:
            lines.append(
                ngettext("It is %(count)s working day late.", "It is %(count)s working days late.", late)
                % {"count": late}
            )
        lines.append(_("State: %(state)s.") % {"state": report.get_state_display()})
        if for_staff:
            lines.append(_("The applicant has been reminded; you are told once."))
        elif not filed_on:
            lines.append(
                _("The next instalment is released only once this report is accepted. Please file it in the portal.")
            )
        lines.append(_("Details: %(url)s") % {"url": settings.SITE_URL + reverse("funding:report", args=[report.pk])})
        return _reminder_subject(reminder, what, for_staff=for_staff), "\n".join(lines)


def report_reminder_mails(report, reminder: Reminder) -> list[ReminderMail]:
    """A reminder about a fund-use report: for the applicant (the entity's contact and its owner) each time,
    for the sub-venue's finance officers with the first overdue reminder. The report is read with its
    instalment and its application's entity and owner; the finance officers cost one query."""
    mails = []
    for for_staff in (False, True) if reminder.is_first_overdue else (False,):
        subject, body_zh = _render_reminder(report, reminder, "zh-hans", for_staff=for_staff)
        _subject_en, body_en = _render_reminder(report, reminder, "en", for_staff=for_staff)
        if for_staff:
            to = _staff_emails_for_role(roles.FINANCE_OFFICER, sub_venue_id=report.application.sub_venue_id)
        else:
            to = _applicant_emails(report.application)
        mails.append(ReminderMail(to=to, subject=subject, body=f"{body_zh}\n\n----\n{body_en}\n"))
    return mails
