"""Who hears about each step of an application, and what they are told."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from funding.workflow import QUEUES
from valley.core import roles
from valley.messaging.mail import queue_mail


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
        if event.comment:
            lines.append(_("Comment: %(comment)s") % {"comment": event.comment})
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
