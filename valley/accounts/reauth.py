"""Re-authentication before the most sensitive actions: approving money and changing the fund policy.

A person must have entered their password and a fresh code from their authenticator within the last
REAUTH_MAX_AGE_MINUTES (a login with the code counts). If not, the action sends them to
/accounts/reauth/ and back. A form that was posted in the meantime is not lost: its fields are kept
in the session and filled in again when the page comes back (`take_pending`), for the person to send.

API requests with a token are a credential of their own (see valley.accounts.two_factor) and are not asked.
"""

import time
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

SESSION_KEY = "valley_reauth_at"
PENDING_KEY = "valley_reauth_pending"
_NOT_KEPT = {"csrfmiddlewaretoken", "password", "token"}


def mark_reauthenticated(request) -> None:
    request.session[SESSION_KEY] = time.time()


def recently_reauthenticated(request) -> bool:
    at = request.session.get(SESSION_KEY)
    return at is not None and time.time() - float(at) <= settings.REAUTH_MAX_AGE_MINUTES * 60


def reauth_url(next_url: str) -> str:
    return f"{reverse('reauthenticate')}?next={quote(next_url)}"


def ask(request, next_url: str | None = None, *, keep_form: bool = True, message: str | None = None):
    """The redirect to the re-authentication page and back to `next_url` (this page). A posted form's fields
    are kept for the way back (`take_pending`) unless `keep_form` is False; `message` tells the person what
    happened to what they sent."""
    next_url = next_url or request.get_full_path()
    if request.method == "POST":
        if keep_form:
            request.session[PENDING_KEY] = {
                "path": request.path,
                "data": {key: request.POST.getlist(key) for key in request.POST if key not in _NOT_KEPT},
            }
        messages.info(
            request,
            message or _("Nothing was saved yet: confirm it is you, then check the form and send it again."),
        )
    return redirect(reauth_url(next_url))


def required(request, **ask_options):
    """The one rule of every door (pages, admin): None when the person re-authenticated recently; otherwise
    the redirect that asks them to (`ask`, with `ask_options`). The API refuses instead of redirecting, on
    the same `recently_reauthenticated`."""
    if recently_reauthenticated(request):
        return None
    return ask(request, **ask_options)


def take_pending(request) -> dict | None:
    """The fields of the form posted to this page before re-authentication, once (then forgotten)."""
    pending = request.session.get(PENDING_KEY)
    if not pending or pending.get("path") != request.path or request.method != "GET":
        return None
    del request.session[PENDING_KEY]
    return {key: values[0] if len(values) == 1 else values for key, values in pending["data"].items()}
