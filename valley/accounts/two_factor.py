"""Two-factor login for staff, auditors and superusers (django-otp, TOTP).

After the password, a person who works on the valley's records confirms the login with the six-digit
code of an authenticator app (RFC 6238). Until they do, `SecondFactorMiddleware` sends every page,
the admin included, to the code page, and answers API requests made with that session 403. A first
login without a device goes to the set-up page (the secret as text, an otpauth:// link and a QR
code). Superusers reset a lost device by deleting it in the admin (*TOTP devices*).

Applicants keep password-only login. API tokens (`Authorization: Token`) are a credential of their
own: only superusers issue them (`manage.py drf_create_token`), so they are not asked for a code.
"""

from urllib.parse import quote

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from valley import audit
from valley.accounts import reauth
from valley.core import roles


def requires_second_factor(user) -> bool:
    """Staff (every staff role and the admin's is_staff), auditors and superusers; never applicants."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or user.is_staff or roles.is_staff_member(user) or roles.is_auditor(user)


def is_verified(user) -> bool:
    return bool(getattr(user, "is_verified", None) and user.is_verified())


def confirmed_device(user, *, for_update: bool = False):
    devices = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk")
    if for_update:
        devices = devices.select_for_update()
    return devices.first()


def verify_code(request, token: str, *, device=None) -> bool:
    """Check a code against the user's confirmed device (or `device`); the device refuses a code it has
    already accepted and slows down guessing (django-otp's throttling). Records the outcome in the audit log."""
    user = request.user
    token = (token or "").strip().replace(" ", "")
    with transaction.atomic():
        device = device or confirmed_device(user, for_update=True)
        ok = device is not None and device.verify_token(token)
    audit.record(
        action="auth.second_factor" if ok else "auth.second_factor_failed",
        outcome="success" if ok else "failed",
        actor=user,
        object_type="valley.user",
        object_id=user.pk,
    )
    if ok:
        otp_login(request, device)
        reauth.mark_reauthenticated(request)  # password and a fresh code, just now
    return bool(ok)


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out login (AXES_LOCKOUT_CALLABLE): a page that says why, 429."""
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": settings.AXES_COOLOFF_MINUTES}
    return render(request, "registration/locked_out.html", context, status=429)


class SecondFactorMiddleware:
    """Sends a staff member, auditor or superuser who has not entered their code to the code page.

    Placed after OTPMiddleware (which sets `user.is_verified()`) and MessageMiddleware. Login, logout,
    the code pages, language switching, static files and the health check stay open.
    """

    API_PREFIX = "/api/"

    def __init__(self, get_response):
        self.get_response = get_response

    def _open_paths(self):
        return (
            reverse("login"),
            reverse("logout"),
            reverse("admin:logout"),
            reverse("two_factor_verify"),
            reverse("two_factor_setup"),
            reverse("healthz"),
            reverse("readyz"),
            "/i18n/",
            "/" + settings.STATIC_URL.lstrip("/"),
        )

    def _token_request(self, request) -> bool:
        # Only the API reads tokens (DRF checks the token before the session; a wrong one is a 401). Elsewhere
        # the header means nothing, so it must not excuse a session from its code.
        return request.path.startswith(self.API_PREFIX) and request.headers.get("Authorization", "").startswith(
            "Token "
        )

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(self._open_paths())
            and not self._token_request(request)
            and not is_verified(user)
            and requires_second_factor(user)
        ):
            if request.path.startswith(self.API_PREFIX):
                return JsonResponse(
                    {
                        "detail": _(
                            "Your login is not confirmed with a code yet. Enter the six-digit code on the "
                            "portal (%(url)s) first, or use an API token."
                        )
                        % {"url": reverse("two_factor_verify")}
                    },
                    status=403,
                )
            return redirect(f"{reverse('two_factor_verify')}?next={quote(request.get_full_path())}")
        return self.get_response(request)
