"""A read replica for the heavy reads (DATABASE_REPLICA_URL): auditor pages, exports, dashboards and API lists.

Only the views named in settings.REPLICA_READ_VIEWS (and GET lists of the API) may read from the replica;
everything else, and every write, stays on the primary ("default"). Three rules keep what a person sees right:

- Read-your-writes: after a successful POST/PUT/PATCH/DELETE the middleware sets a signed cookie that pins
  that browser to the primary for REPLICA_PIN_SECONDS, so the page after a form shows what was just saved
  even while the replica has not replayed it yet.
- A replica that is down, not in recovery or more than REPLICA_MAX_LAG_SECONDS behind is not used: reads go
  to the primary. Its health is checked at most every HEALTH_CHECK_SECONDS per process, on a connection of
  its own with a short connect_timeout, so a dead replica costs one short wait, not one per request.
- A replica that dies between two checks: the GET that met the error is marked, the replica marked
  unhealthy, and the view run again on the primary (a GET is safe to repeat) instead of a 503.

With DATABASE_REPLICA_URL unset none of this is installed and every query goes to "default" as before.
"""

import contextlib
import contextvars
import logging
import threading
import time

from django.conf import settings
from django.core import signing
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from valley.web.middleware import DATABASE_ERRORS, database_unavailable_response

logger = logging.getLogger(__name__)

REPLICA = "replica"
HEALTH_CHECK_SECONDS = 5
CONNECT_TIMEOUT_SECONDS = 2
PIN_COOKIE = "valley_primary_pin"
_PIN_SALT = "valley.web.replica.pin"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# On for the duration of a listed view; the router reads it.
_may_read_replica: contextvars.ContextVar[bool] = contextvars.ContextVar("valley_may_read_replica", default=False)
# Set by the router when it sent a read to the replica: an error then may be the replica's.
_used_replica: contextvars.ContextVar[bool] = contextvars.ContextVar("valley_used_replica", default=False)


def configured() -> bool:
    return REPLICA in settings.DATABASES


# ------------------------------------------------------------------ health


_LAG_SQL = (
    # An idle primary sends no new transactions, so the replay timestamp ages although nothing is missing:
    # everything received replayed means caught up, lag 0.
    "SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
)


class _Health:
    """The last check's answer, renewed when due by one request of the process while the others go on with it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.checked_at = float("-inf")
        self.healthy = False
        self.probing = False

    def is_healthy(self) -> bool:
        with self.lock:
            if self.probing or time.monotonic() - self.checked_at < HEALTH_CHECK_SECONDS:
                return self.healthy
            self.probing = True
        healthy = False
        try:
            healthy = _probe()
        finally:
            with self.lock:
                self.healthy, self.checked_at, self.probing = healthy, time.monotonic(), False
        return healthy

    def mark_unhealthy(self) -> None:
        with self.lock:
            self.healthy = False
            self.checked_at = time.monotonic()


_health = _Health()


def _probe() -> bool:
    """One short connection to the replica: in recovery (a standby) and no more than the allowed lag behind."""
    import psycopg2

    db = settings.DATABASES[REPLICA]
    try:
        probe = psycopg2.connect(
            dbname=db["NAME"],
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            **{**db.get("OPTIONS", {}), "connect_timeout": CONNECT_TIMEOUT_SECONDS},  # sslmode and the like
        )
        try:
            with probe.cursor() as cursor:
                cursor.execute(_LAG_SQL)
                in_recovery, lag = cursor.fetchone()
        finally:
            probe.close()
    except psycopg2.Error as error:
        logger.warning("read replica unavailable, reading from the primary: %s", error)
        return False
    if not in_recovery:
        logger.warning("read replica is not in recovery (promoted?), reading from the primary")
        return False
    if float(lag) > settings.REPLICA_MAX_LAG_SECONDS:
        logger.warning(
            "read replica %.1fs behind (more than %ss), reading from the primary", lag, settings.REPLICA_MAX_LAG_SECONDS
        )
        return False
    return True


# ------------------------------------------------------------------ router


def read_alias() -> str:
    """Where a read of this moment goes: the replica only inside a listed view, not pinned, replica healthy."""
    if not _may_read_replica.get() or not configured():
        return DEFAULT_DB_ALIAS
    # A read inside a transaction on the primary may be the read half of a write: it stays there.
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    if not _health.is_healthy():
        return DEFAULT_DB_ALIAS
    _used_replica.set(True)
    return REPLICA


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        return read_alias()

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same tables on both: the replica is a copy of the primary

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS  # the replica follows the primary's migrations by replication


def bound_to_read_alias(queryset):
    """The queryset fixed to the alias the router picks now, for a response read after the view has returned
    (a streamed export); a replica gone since its last health check fails here, in the view, where the
    middleware can still answer from the primary, rather than halfway through the download."""
    alias = queryset.db
    if alias != DEFAULT_DB_ALIAS:
        connections[alias].ensure_connection()
    return queryset.using(alias)


# ------------------------------------------------------------------ middleware


def _is_replica_view(request) -> bool:
    match = request.resolver_match
    if match is None or request.method not in ("GET", "HEAD"):
        return False
    if match.view_name in settings.REPLICA_READ_VIEWS:
        return True
    # The API's lists (the router's "<basename>-list" routes); a single object or a write is read from the primary.
    return "api" in match.namespaces and (match.url_name or "").endswith("-list")


def _pinned(request) -> bool:
    value = request.COOKIES.get(PIN_COOKIE)
    if not value:
        return False
    try:
        signing.loads(value, salt=_PIN_SALT, max_age=settings.REPLICA_PIN_SECONDS)
    except signing.BadSignature:  # also SignatureExpired: the pin is over
        return False
    return True


class ReplicaReadsMiddleware:
    """Lets the listed views read from the replica, pins a browser to the primary after its writes, and
    runs a GET again on the primary when the replica failed under it. Installed only with a replica."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request._replica_pinned = _pinned(request)
        token_used = _used_replica.set(False)
        try:
            response = self.get_response(request)
        finally:
            _used_replica.reset(token_used)
        if request.method in WRITE_METHODS and response.status_code < 400:
            response.set_cookie(
                PIN_COOKIE,
                signing.dumps(int(time.time()), salt=_PIN_SALT),
                max_age=settings.REPLICA_PIN_SECONDS,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request._replica_pinned or not _is_replica_view(request):
            return None
        try:
            return self._run_reading_replica(request, view_func, view_args, view_kwargs)
        except DATABASE_ERRORS as error:
            # The primary's own outage: raised from here it would pass DatabaseUnavailableMiddleware's
            # process_exception by, so its answer is given here, the same 503.
            logger.error("database unavailable: %s %s: %s", request.method, request.path, error)
            return database_unavailable_response(request)

    def _run_reading_replica(self, request, view_func, view_args, view_kwargs):
        token = _may_read_replica.set(True)
        try:
            return view_func(request, *view_args, **view_kwargs)
        except DATABASE_ERRORS as error:
            if not _used_replica.get():
                raise
            logger.warning("read replica failed under %s, reading from the primary: %s", request.path, error)
            _health.mark_unhealthy()
            with contextlib.suppress(DatabaseError):
                connections[REPLICA].close()
        finally:
            _may_read_replica.reset(token)
        # A GET is safe to run twice; this time every read goes to the primary.
        return view_func(request, *view_args, **view_kwargs)
