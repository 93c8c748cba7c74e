"""The request id and the request metrics, in one middleware placed first in MIDDLEWARE.

An incoming X-Request-ID (set by the proxy in front) is used only when REQUEST_ID_TRUST_HEADER is on and the
value looks like an id; otherwise anyone could write whatever they like into our logs and make unrelated
requests look like one. Else a new id is made. The id is in every log line written during the request, in the
response's X-Request-ID header, and in the Celery tasks the request sends (celery_signals.py).
"""

import re
import time
import uuid

from django.conf import settings
from django.core.signals import request_finished

from valley.observability import metrics
from valley.observability.logs import NO_REQUEST, current_request_id

HEADER = "X-Request-ID"
# What a proxy's id looks like (a UUID, a hex string, nginx's $request_id); anything else is replaced.
_ACCEPTABLE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_for(request) -> str:
    incoming = request.headers.get(HEADER, "")
    if settings.REQUEST_ID_TRUST_HEADER and _ACCEPTABLE_ID.fullmatch(incoming):
        return incoming
    return new_request_id()


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_for(request)
        # Cleared when the response is closed (request_finished), not on the way out of here: Django logs a
        # 4xx/5xx ("django.request: Not Found: ...") after the middleware has returned, and that line needs the id.
        current_request_id.set(request.request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        response[HEADER] = request.request_id
        metrics.observe_request(request, response.status_code, time.perf_counter() - started)
        return response


def _clear_request_id(**kwargs):
    current_request_id.set(NO_REQUEST)


request_finished.connect(_clear_request_id, dispatch_uid="valley.observability.clear_request_id")
