"""Sessions that end: after a time without activity, and after an absolute lifetime (等保 level 3 asks for
automatic logout). Staff and auditors hold money decisions and everyone's data, so their limits are short
(30 minutes idle, 12 hours in all by default); applicants' long (2 hours idle, 7 days).

The middleware keeps two timestamps in the session (started, last seen), rewritten at most once a minute so
an active session is not saved on every request. When a session has run out, the person is logged out and
sent to the login page and back. A form they had posted is not lost: its fields (never passwords, codes or
the CSRF token) are kept in the new session, and the page they come back to fills them in again
(`restored_form`, read by static/js/session.js). Files chosen for upload cannot be kept; the message says so.

Pages show a warning shortly before the idle limit, with a button that keeps the session (`keepalive`).
"""

import time
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

STARTED_KEY = "valley_session_started"
SEEN_KEY = "valley_session_seen"
PENDING_KEY = "valley_session_pending_form"
_NOT_KEPT = {
    "csrfmiddlewaretoken",
    "password",
    "password1",
    "password2",
    "new_password1",
    "new_password2",
    "old_password",
    "token",
}


def limits(user) -> tuple[int, int]:
    """(idle, absolute) limits in seconds for this person: staff and auditors (is_staff) or applicants."""
    if user.is_staff or user.is_superuser:
        return settings.SESSION_IDLE_MINUTES_STAFF * 60, settings.SESSION_ABSOLUTE_HOURS_STAFF * 3600
    return settings.SESSION_IDLE_MINUTES_APPLICANT * 60, settings.SESSION_ABSOLUTE_HOURS_APPLICANT * 3600


def seconds_left(request) -> int | None:
    """How long this session lasts without activity (None when nobody is signed in)."""
    return getattr(request, "session_seconds_left", None)


class SessionTimeoutMiddleware:
    """After AuthenticationMiddleware and MessageMiddleware: ends sessions that ran out, records activity."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            session = request.session
            started = session.setdefault(STARTED_KEY, now)
            seen = session.get(SEEN_KEY, now)
            idle, absolute = limits(user)
            idle_for, lived = now - seen, now - started
            if idle_for > idle or lived > absolute:
                if idle_for > idle:
                    text = ngettext(
                        "You were logged out after %(minutes)d minute without activity.",
                        "You were logged out after %(minutes)d minutes without activity.",
                        idle // 60,
                    ) % {"minutes": idle // 60}
                else:
                    text = ngettext(
                        "You were logged out: a session lasts at most %(hours)d hour. Log in again.",
                        "You were logged out: a session lasts at most %(hours)d hours. Log in again.",
                        absolute // 3600,
                    ) % {"hours": absolute // 3600}
                return self._expired(request, text)
            if SEEN_KEY not in session or idle_for >= settings.SESSION_ACTIVITY_RESOLUTION_SECONDS:
                session[SEEN_KEY] = now
                idle_for = 0
            request.session_seconds_left = max(0, min(idle - idle_for, absolute - lived))
        return self.get_response(request)

    def _expired(self, request, text: str):
        kept = None
        if request.method == "POST":
            kept = {
                "path": request.path,
                "data": {key: request.POST.getlist(key) for key in request.POST if key not in _NOT_KEPT},
            }
        files = request.method == "POST" and bool(request.FILES)
        logout(request)  # a new, empty session: what follows is kept in it
        if request.path.startswith("/api/"):
            return self.get_response(request)  # the API answers an anonymous request with 401 itself
        if kept:
            request.session[PENDING_KEY] = kept
            text += " " + _("Nothing was saved: log in, and the form comes back filled in for you to send.")
            if files:
                text += " " + _("Choose the files again: they cannot be kept.")
        messages.info(request, text)
        return redirect(f"{reverse('login')}?next={quote(request.path if kept else request.get_full_path())}")


def restored_form(request) -> dict | None:
    """The fields of a form posted to this page when the session ran out, once (then forgotten)."""
    pending = request.session.get(PENDING_KEY)
    if not pending or pending.get("path") != request.path or request.method != "GET":
        return None
    del request.session[PENDING_KEY]
    return pending["data"]


def keepalive(request):
    """The warning's "stay logged in" button: the middleware has already recorded this request as activity;
    the answer says how long the session now lasts."""
    if not request.user.is_authenticated:
        return JsonResponse({"seconds_left": 0}, status=401)
    return JsonResponse({"seconds_left": seconds_left(request)})
