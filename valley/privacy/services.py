"""Personal data: the notice in force, consents, the person's data as a zip, and account deletion.

Anonymisation replaces the person's fields and keeps the records: the grant's figures are untouched, and the
audit log (append-only, refused by the database) keeps its entries as they were written, which finance and
audit law require; so `verify_chain` still passes after an account is anonymised.
"""

import csv
import datetime
import io
import json
import zipfile

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from valley import audit
from valley.core import calendar
from valley.core.workflow import WorkflowError
from valley.exports.engine import neutralise
from valley.messaging.mail import queue_mail
from valley.models import AuditEntry, Consent, DeletionRequest, PrivacyNotice, PrivacyPurpose
from valley.privacy import defaults
from valley.privacy.registry import providers
from valley.privacy.workflow import DELETION

S = DeletionRequest.State
# Set at login when a newer notice is in force than the one the person accepted (shown as a banner, not a wall).
CONSENT_DUE_KEY = "valley_privacy_consent_due"


class PrivacyError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------------------- the notice and consents


def notice_current() -> PrivacyNotice | None:
    """The notice in force today: the highest version whose date has come. One query (its purposes: one more)."""
    return (
        PrivacyNotice.objects.filter(effective_on__lte=timezone.localdate())
        .prefetch_related("purposes")
        .order_by("-version")
        .first()
    )


def notice_ensure_default(**kwargs) -> None:
    """The first notice, when there is none (after migrate, and after a test flush)."""
    if PrivacyNotice.objects.exists():
        return
    with transaction.atomic():
        notice = PrivacyNotice.objects.create(
            version=1, effective_on=defaults.EFFECTIVE_ON, text_zh=defaults.TEXT_ZH, text_en=defaults.TEXT_EN
        )
        PrivacyPurpose.objects.bulk_create(
            PrivacyPurpose(
                notice=notice,
                order=order,
                purpose_zh=purpose_zh,
                purpose_en=purpose_en,
                data_zh=data_zh,
                data_en=data_en,
                legal_basis=basis,
            )
            for order, (purpose_zh, purpose_en, data_zh, data_en, basis) in enumerate(defaults.PURPOSES)
        )


def consent_due(user) -> PrivacyNotice | None:
    """The notice in force when `user` has not accepted it yet; None when they have (or there is none)."""
    notice = notice_current()
    if notice is None or Consent.objects.filter(user=user, notice=notice).exists():
        return None
    return notice


@transaction.atomic
def consent_record(*, user, notice: PrivacyNotice) -> Consent:
    """`user` accepts `notice` now. Accepting the same version twice keeps the first time."""
    consent, created = Consent.objects.get_or_create(user=user, notice=notice)
    if created:
        audit.record(
            action="valley.privacy.consented",
            actor=user,
            object_type="valley.consent",
            object_id=consent.pk,
            after={"notice_version": notice.version},
        )
    return consent


# ---------------------------------------------------------------------------- download my data


def _valley_export(user) -> dict[str, list[dict]]:
    account = {
        "id": user.pk,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "email_confirmed_at": user.email_confirmed_at,
        "is_active": user.is_active,
        "roles": sorted(group.name for group in user.groups.all()),
    }
    consents = [
        {"notice_version": version, "at": at}
        for version, at in Consent.objects.filter(user=user).values_list("notice__version", "at").order_by("at")
    ]
    deletion_requests = list(
        DeletionRequest.objects.filter(user=user)
        .values("id", "state", "requested_at", "due_on", "cancelled_at", "anonymised_at")
        .order_by("requested_at")
    )
    # What the person did, as the audit log recorded it; the values before/after are left out: they may be
    # other people's records the person worked on.
    actions = list(
        AuditEntry.objects.filter(actor=user).values("id", "at", "action", "object_type", "object_id").order_by("id")
    )
    return {
        "account": [account],
        "consents": consents,
        "deletion_requests": deletion_requests,
        "audit_actions": actions,
    }


def _csv(rows: list[dict]) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _cell(value) for key, value in row.items()})
    return buffer.getvalue()


def _cell(value):
    if isinstance(value, (list, dict)):
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise(value)  # a cell a spreadsheet would run as a formula, as every export does
    return "" if value is None else value


def data_collect(user) -> dict[str, list[dict]]:
    """Every record the person and their entities hold, from valley and every registered app."""
    tables = _valley_export(user)
    for provider in providers():
        for name, rows in provider.export(user).items():
            tables[f"{provider.label}.{name}"] = rows
    return tables


def data_export(*, user) -> bytes:
    """The zip of "download my data": data.json (every table), one CSV per table, and the person's uploaded files
    while they fit PRIVACY_EXPORT_MAX_FILE_BYTES. Recorded in the audit log (who downloaded, not what)."""
    tables = data_collect(user)
    files = [item for provider in providers() if provider.files for item in provider.files(user)]
    total = sum(size for _name, _field, size in files)
    with_files = total <= settings.PRIVACY_EXPORT_MAX_FILE_BYTES
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "data.json", json.dumps(tables, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2, sort_keys=True)
        )
        for name, rows in tables.items():
            archive.writestr(f"csv/{name}.csv", "\ufeff" + _csv(rows))  # the BOM: spreadsheet programs read UTF-8
        if with_files:
            for name, field, _size in files:
                try:
                    with field.open("rb") as handle:
                        archive.writestr(f"files/{name}", handle.read())
                except (OSError, ValueError):  # a file missing from storage: its row still says what it was
                    continue
        readme = _(
            "Your data in the Valley Portal, as of %(at)s.\n\ndata.json holds every table; csv/ holds the same "
            "tables as CSV.\n"
        ) % {"at": timezone.localtime().isoformat(timespec="seconds")}
        if files and not with_files:
            readme += _("Your files are larger than this download allows: their list is in the documents table.\n")
        archive.writestr("README.txt", readme)
    audit.record(
        action="valley.privacy.data_exported",
        actor=user,
        object_type="valley.user",
        object_id=user.pk,
        after={"tables": len(tables), "files": len(files) if with_files else 0},
    )
    return buffer.getvalue()


# ---------------------------------------------------------------------------- deletion


def deletion_open(user) -> DeletionRequest | None:
    return DeletionRequest.objects.filter(user=user, state=S.REQUESTED).first()


def _page_url() -> str:
    return settings.SITE_URL + reverse("account_delete")


@transaction.atomic
def deletion_request(*, user) -> DeletionRequest:
    """The person asks for their account to be deleted: anonymised after the grace period, unless they cancel."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    if deletion_open(user) is not None:
        raise PrivacyError(_("You have already asked for your account to be deleted."))
    request = DeletionRequest.objects.create(
        user=user,
        due_on=calendar.add_working_days(timezone.localdate(), settings.PRIVACY_DELETION_GRACE_WORKING_DAYS),
    )
    audit.record(
        action="valley.deletion_request.requested",
        actor=user,
        object_type="valley.deletionrequest",
        object_id=request.pk,
        after={"due_on": request.due_on},
    )
    body = _(
        "We received your request to delete your Valley Portal account.\n\n"
        "On %(date)s your name, e-mail address and phone will be replaced and the account closed. "
        "Until then you can cancel the request here:\n\n%(url)s\n\n"
        "The grant's records and the audit log are kept as finance law requires."
    ) % {"date": date_format(request.due_on, "DATE_FORMAT"), "url": _page_url()}
    queue_mail(to=user.email, subject=_("Your account deletion request"), body=body)
    return request


@transaction.atomic
def deletion_cancel(*, request: DeletionRequest, by) -> DeletionRequest:
    request = DeletionRequest.objects.select_for_update().get(pk=request.pk)
    DELETION.check("cancel", request, by)
    request.state, request.cancelled_at = S.CANCELLED, timezone.now()
    request.save(update_fields=["state", "cancelled_at"])
    audit.record(
        action="valley.deletion_request.cancel",
        actor=by,
        object_type="valley.deletionrequest",
        object_id=request.pk,
        before={"state": S.REQUESTED},
        after={"state": S.CANCELLED},
    )
    queue_mail(
        to=request.user.email,
        subject=_("Your account deletion request was cancelled"),
        body=_("You cancelled the deletion of your Valley Portal account: it stays as it is."),
    )
    return request


def placeholder_name(user_id: int) -> str:
    """What replaces an anonymised person's name, in every record (in Chinese, the portal's language of record)."""
    return f"已注销用户 #{user_id}"


def placeholder_email(user_id: int) -> str:
    return f"deleted-{user_id}@invalid"


@transaction.atomic
def deletion_anonymise(*, request_id: int) -> DeletionRequest:
    """Carry out a deletion request whose grace period has ended (beat, as the system). The person's fields in
    every app's records and in the account are replaced; the account can no longer log in. Records, amounts
    and audit entries stay."""
    from axes.models import AccessFailureLog, AccessLog
    from axes.utils import reset
    from django_otp.plugins.otp_totp.models import TOTPDevice

    request = DeletionRequest.objects.select_for_update().select_related("user").get(pk=request_id)
    DELETION.check("anonymise", request, None)
    user = request.user
    email = user.email
    counts = {}
    for provider in providers():
        if provider.anonymise:
            for what, count in provider.anonymise(user, email).items():
                counts[f"{provider.label}.{what}"] = count
    user.first_name, user.last_name = placeholder_name(user.pk), ""
    user.email = placeholder_email(user.pk)
    user.email_confirmed_at = None
    user.is_active = user.is_staff = user.is_superuser = False
    user.set_unusable_password()  # also ends every session: the session's hash of the password no longer matches
    user.save(
        update_fields=[
            "first_name",
            "last_name",
            "email",
            "email_confirmed_at",
            "is_active",
            "is_staff",
            "is_superuser",
            "password",
        ]
    )
    user.groups.clear()
    user.sub_venues.clear()
    user.passwords_used.all().delete()
    TOTPDevice.objects.filter(user=user).delete()
    reset(username=email)
    # The login logs stay (security records), under the anonymised address.
    AccessLog.objects.filter(username__iexact=email).update(username=user.email)
    AccessFailureLog.objects.filter(username__iexact=email).update(username=user.email)
    request.state, request.anonymised_at = S.ANONYMISED, timezone.now()
    request.save(update_fields=["state", "anonymised_at"])
    # The entry names no personal value: only what was replaced, how often.
    audit.record(
        action="valley.deletion_request.anonymise",
        object_type="valley.deletionrequest",
        object_id=request.pk,
        before={"state": S.REQUESTED},
        after={"state": S.ANONYMISED, "user": user.pk, "replaced": counts},
    )
    queue_mail(
        to=email,
        subject=_("Your account was deleted"),
        body=_(
            "As you asked, your Valley Portal account was closed and your name, e-mail address and phone were "
            "replaced in its records. The grant's records and the audit log are kept as finance law requires."
        ),
    )
    return request


def deletion_anonymise_due() -> int:
    """Every open request whose grace period has ended, each in its own transaction. Safe to run twice."""
    ids = list(
        DeletionRequest.objects.filter(state=S.REQUESTED, due_on__lte=timezone.localdate()).values_list("pk", flat=True)
    )
    done = 0
    for request_id in ids:
        try:
            deletion_anonymise(request_id=request_id)
        except WorkflowError:
            continue  # cancelled meanwhile, or carried out by another run
        done += 1
    return done
