"""The password rules (settings.AUTH_PASSWORD_VALIDATORS) that Django does not have, or does not say in Chinese.

A provincial system's review (等保 level 3) asks for length and complexity: at least ten characters, from at
least three of the four kinds (lower case, upper case, digits, other signs), and not the account's own name.
Django 5.2's length message changed its wording and its Chinese catalogue has not followed, so the length rule
is ours too, with our translation. Each validator says in its help text what it wants, in the reader's language.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


class MinimumLengthValidator:
    def __init__(self, min_length: int = 10):
        self.min_length = min_length

    def validate(self, password: str, user=None) -> None:
        if len(password) < self.min_length:
            raise ValidationError(
                ngettext(
                    "This password is too short: use at least %(min_length)d character.",
                    "This password is too short: use at least %(min_length)d characters.",
                    self.min_length,
                )
                % {"min_length": self.min_length},
                code="password_too_short",
            )

    def get_help_text(self) -> str:
        return ngettext(
            "At least %(min_length)d character.", "At least %(min_length)d characters.", self.min_length
        ) % {"min_length": self.min_length}


def _kinds(password: str) -> int:
    tests = (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
    return sum(any(test(c) for c in password) for test in tests)


class CharacterKindsValidator:
    def __init__(self, min_kinds: int = 3):
        self.min_kinds = min_kinds

    def validate(self, password: str, user=None) -> None:
        if _kinds(password) < self.min_kinds:
            raise ValidationError(
                _(
                    "Mix at least %(kinds)d of these four: lower-case letters, capital letters, digits, and other "
                    "signs such as - ! or #."
                )
                % {"kinds": self.min_kinds},
                code="password_too_simple",
            )

    def get_help_text(self) -> str:
        return _("At least %(kinds)d of: lower-case letters, capital letters, digits, other signs.") % {
            "kinds": self.min_kinds
        }


class EmailLocalPartValidator:
    """Not the part of the e-mail address before the @, in any case (zhang.wei@… and "Zhang.Wei2026!")."""

    def validate(self, password: str, user=None) -> None:
        local = (getattr(user, "email", "") or "").split("@", 1)[0].lower()
        if len(local) >= 3 and local in password.lower():
            raise ValidationError(
                _("The password contains your e-mail address's name (%(local)s): leave it out.") % {"local": local},
                code="password_contains_email",
            )

    def get_help_text(self) -> str:
        return _("Not containing the name part of your e-mail address.")


class RecentPasswordValidator:
    """Not one of the person's last `remembered` passwords. Django calls `password_changed` after every
    save of a new password (sign-up, reset, change, admin, createsuperuser), which is where the hash is kept;
    only the newest `remembered` are kept."""

    def __init__(self, remembered: int = 5):
        self.remembered = remembered

    def _recent(self, user):
        from valley.models import PasswordUsed

        return PasswordUsed.objects.filter(user=user).order_by("-set_at", "-pk")

    def validate(self, password: str, user=None) -> None:
        if user is None or not user.pk:
            return
        from django.contrib.auth.hashers import check_password

        if any(
            check_password(password, used)
            for used in self._recent(user)[: self.remembered].values_list("password", flat=True)
        ):
            raise ValidationError(
                ngettext(
                    "You used this password recently: choose one that is not your last %(count)d.",
                    "You used this password recently: choose one that is not among your last %(count)d.",
                    self.remembered,
                )
                % {"count": self.remembered},
                code="password_reused",
            )

    def password_changed(self, password: str, user=None) -> None:
        if user is None or not user.pk:
            return
        from valley.models import PasswordUsed

        PasswordUsed.objects.create(user=user, password=user.password)
        stale = self._recent(user).values_list("pk", flat=True)[self.remembered :]
        PasswordUsed.objects.filter(pk__in=list(stale)).delete()

    def get_help_text(self) -> str:
        return ngettext("Not your last password.", "Not one of your last %(count)d passwords.", self.remembered) % {
            "count": self.remembered
        }


# --- passwords set before the rules: changed at the next login ----------------------------------------------

CHANGE_REQUIRED_KEY = "valley_password_change_required"


def breaks_the_rules(password: str, user) -> bool:
    """Whether a password someone just logged in with would be refused today (their history aside: it is
    their current password, so it is in it)."""
    from django.conf import settings
    from django.contrib.auth import password_validation

    validators = password_validation.get_password_validators(
        [v for v in settings.AUTH_PASSWORD_VALIDATORS if not v["NAME"].endswith(".RecentPasswordValidator")]
    )
    try:
        password_validation.validate_password(password, user, password_validators=validators)
    except ValidationError:
        return True
    return False


class PasswordChangeRequiredMiddleware:
    """After a login with a password the current rules refuse, every page leads to the password change page
    until the password is changed (the login view sets the flag; the change view clears it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.session.get(CHANGE_REQUIRED_KEY) and request.user.is_authenticated:
            from django.conf import settings
            from django.contrib import messages
            from django.shortcuts import redirect
            from django.urls import reverse

            open_paths = (
                reverse("password_change"),
                reverse("password_change_done"),
                reverse("logout"),
                reverse("two_factor_verify"),
                reverse("two_factor_setup"),
                reverse("session_keepalive"),
                reverse("healthz"),
                reverse("readyz"),
                "/i18n/",
                "/api/",
                "/" + settings.STATIC_URL.lstrip("/"),
            )
            if not request.path.startswith(open_paths):
                messages.warning(request, _password_too_weak_message())
                return redirect("password_change")
        return self.get_response(request)


def _password_too_weak_message() -> str:
    return _(
        "Your password no longer meets the portal's rules (at least ten characters, three kinds of characters, "
        "not your e-mail's name). Choose a new one to go on."
    )
