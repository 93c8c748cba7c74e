"""Applicant accounts: sign-up and e-mail confirmation.

The confirmation link carries a signed, timestamped token (django.core.signing) naming the user
and the address it was sent to, so it stops working when it expires or the address changes, and
the database stores no token. Confirming twice is harmless.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from valley import audit
from valley.core import roles
from valley.messaging.mail import queue_mail

CONFIRMATION_SALT = "valley.accounts.confirm-email"
CONFIRMATION_MAX_AGE = 3 * 24 * 3600  # seconds: three days


class AccountError(Exception):
    """A sign-up or confirmation rule was broken; `message` is translated and meant for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def confirmation_token(user) -> str:
    return signing.TimestampSigner(salt=CONFIRMATION_SALT).sign_object({"user": user.pk, "email": user.email})


def confirmation_url(user) -> str:
    return settings.SITE_URL + reverse("confirm_email", args=[confirmation_token(user)])


def user_send_confirmation(*, user) -> None:
    """Queue the confirmation mail (sent by a Celery worker once the transaction commits)."""
    if user.email_confirmed_at is not None:
        return
    body = _(
        "Welcome to the Shanxi Innovation Valley portal.\n\n"
        "Please confirm your e-mail address by opening this link (valid for three days):\n\n"
        "%(url)s\n\n"
        "If you did not sign up, ignore this mail."
    ) % {"url": confirmation_url(user)}
    queue_mail(to=user.email, subject=_("Confirm your e-mail address"), body=body)


@transaction.atomic
@transaction.atomic
def user_sign_up(*, email: str, password: str, first_name: str = "", last_name: str = "", privacy_notice=None):
    """Create an applicant account and send the confirmation mail. The password is already validated; the
    person accepted `privacy_notice` (the version in force, recorded with the time)."""
    user_model = get_user_model()
    email = user_model.objects.normalize_email(email).lower()
    if user_model.objects.filter(email__iexact=email).exists():
        raise AccountError(_("An account with this e-mail address already exists. Log in instead."))
    user = user_model.objects.create_user(email=email, password=password, first_name=first_name, last_name=last_name)
    user.groups.add(Group.objects.get(name=roles.APPLICANT))
    audit.record(
        action="accounts.user.signed_up",
        actor=user,
        object_type=user._meta.label_lower,
        object_id=user.pk,
        after={"email": user.email, "groups": [roles.APPLICANT]},
    )
    if privacy_notice is not None:
        from valley.privacy import services as privacy

        privacy.consent_record(user=user, notice=privacy_notice)
    user_send_confirmation(user=user)
    return user


@transaction.atomic
def user_confirm_email(*, token: str):
    """Mark the address in `token` as confirmed. Raises AccountError for a bad or expired link."""
    try:
        data = signing.TimestampSigner(salt=CONFIRMATION_SALT).unsign_object(token, max_age=CONFIRMATION_MAX_AGE)
    except signing.SignatureExpired as error:
        raise AccountError(_("This confirmation link has expired. Log in and ask for a new one.")) from error
    except signing.BadSignature as error:
        raise AccountError(_("This confirmation link is not valid. Copy the whole link from the mail.")) from error
    user_model = get_user_model()
    user = user_model.objects.select_for_update().filter(pk=data.get("user"), is_active=True).first()
    if user is None or user.email != data.get("email"):
        raise AccountError(_("This confirmation link is for an address that is no longer in use."))
    if user.email_confirmed_at is None:
        user.email_confirmed_at = timezone.now()
        user.save(update_fields=["email_confirmed_at"])
        audit.record(
            action="accounts.user.email_confirmed",
            actor=user,
            object_type=user._meta.label_lower,
            object_id=user.pk,
            after={"email": user.email},
        )
    return user


# --- failed-login lockouts (django-axes) ---------------------------------------------------------------


@transaction.atomic
def login_unlock(*, user, by) -> int:
    """Staff clear an account's failed logins (from every address), so its owner can log in at once.

    Returns how many lockout records were cleared; the audit entry says who unlocked whom."""
    from axes.utils import reset

    cleared = reset(username=user.email)
    audit.record(
        action="auth.login_unlocked",
        actor=by,
        object_type=user._meta.label_lower,
        object_id=user.pk,
        after={"cleared": cleared},
    )
    return cleared


@transaction.atomic
def password_reset_completed(*, user) -> None:
    """A person who set a new password through the reset link is no longer locked out by the old one."""
    from axes.utils import reset

    cleared = reset(username=user.email)
    audit.record(
        action="auth.password_reset",
        actor=user,
        object_type=user._meta.label_lower,
        object_id=user.pk,
        after={"lockouts_cleared": cleared},
    )


# --- profile, roles and permissions: what the audit log records of a user -----------------------------

# A change of any of these is a change of what the person may do (the entry's action says "roles").
ROLE_FIELDS = {"is_active", "is_staff", "is_superuser", "groups", "user_permissions", "sub_venues"}
# Written by logging in, not a change of the profile.
NOT_PROFILE = {"last_login"}


def user_state(user) -> dict:
    """A user as the audit log compares it: the stored fields (never the password), the groups (names),
    individual permissions ("app_label.codename") and sub-venues (ids), sorted. Three queries; read it
    from the database's row (before a form's values are saved), not from a form's copy."""
    state = {name: value for name, value in audit.snapshot(user).items() if name not in NOT_PROFILE}
    state["groups"] = sorted(user.groups.values_list("name", flat=True))
    state["user_permissions"] = sorted(
        f"{app_label}.{codename}"
        for app_label, codename in user.user_permissions.values_list("content_type__app_label", "codename")
    )
    state["sub_venues"] = sorted(user.sub_venues.values_list("pk", flat=True))
    return state


def user_changed(*, user, before: dict, by=None) -> None:
    """Record what changed about `user` since `before` (a `user_state`), both ways: as
    "accounts.user.roles_changed" when their roles, permissions, sub-venues or active/staff/superuser flags
    changed, else "accounts.user.profile_changed"; nothing when nothing changed. In the caller's transaction."""
    after = user_state(user)
    changed = sorted(name for name in after if before.get(name) != after[name])
    if not changed:
        return
    audit.record(
        action="accounts.user.roles_changed" if ROLE_FIELDS & set(changed) else "accounts.user.profile_changed",
        actor=by,
        object_type=user._meta.label_lower,
        object_id=user.pk,
        before={name: before.get(name) for name in changed},
        after={name: after[name] for name in changed},
    )


def user_created(*, user, by=None) -> None:
    """Record a user created by someone else (the admin): their profile and roles as created."""
    audit.record(
        action="accounts.user.created",
        actor=by,
        object_type=user._meta.label_lower,
        object_id=user.pk,
        after=user_state(user),
    )


def group_state(group) -> dict:
    """A group (a role) as the audit log compares it: its name and permissions ("app_label.codename")."""
    permissions = group.permissions.values_list("content_type__app_label", "codename") if group.pk else []
    return {"name": group.name, "permissions": sorted(f"{app_label}.{codename}" for app_label, codename in permissions)}


def group_changed(*, group, before: dict | None, by=None) -> None:
    """Record a group created (`before` None) or changed since `before` (a `group_state`): a change of what
    everyone in it may do, "accounts.group.roles_changed"."""
    after = group_state(group)
    changed = sorted(name for name in after if (before or {}).get(name) != after[name])
    if not changed:
        return
    audit.record(
        action="accounts.group.roles_changed",
        actor=by,
        object_type="auth.group",
        object_id=group.pk,
        before=None if before is None else {name: before.get(name) for name in changed},
        after={name: after[name] for name in changed},
    )


def password_changed(*, user) -> None:
    """The person changed their own password (the password itself is never recorded)."""
    audit.record(
        action="accounts.user.password_changed", actor=user, object_type=user._meta.label_lower, object_id=user.pk
    )
