"""The read replica's rules, without a replica (tests/faults/test_replica.py runs one): writes and migrations
on the primary, the replica only inside a listed view, not inside a transaction, healthy; the pin cookie;
the health check at most every few seconds. The test process never sets DATABASE_REPLICA_URL."""

import time

import pytest
from django.core import signing
from django.db import transaction
from django.test import RequestFactory
from django.urls import resolve

from valley.web import replica


def test_without_a_replica_url_there_is_no_alias_router_or_middleware(settings):
    assert "replica" not in settings.DATABASES
    assert not getattr(settings, "DATABASE_ROUTERS", [])
    assert "valley.web.replica.ReplicaReadsMiddleware" not in settings.MIDDLEWARE
    token = replica._may_read_replica.set(True)
    try:
        assert replica.read_alias() == "default"
    finally:
        replica._may_read_replica.reset(token)


def test_writes_and_migrations_stay_on_the_primary():
    router = replica.ReplicaRouter()
    assert router.db_for_write(None) == "default"
    assert router.allow_migrate("default", "teams") is True
    assert router.allow_migrate("replica", "teams") is False
    assert router.allow_relation(object(), object()) is True


@pytest.fixture
def replica_up(monkeypatch):
    monkeypatch.setattr(replica, "configured", lambda: True)
    monkeypatch.setattr(replica._health, "is_healthy", lambda: True)


@pytest.mark.django_db(transaction=True)  # not inside the test's own transaction
def test_replica_only_inside_a_listed_view_and_outside_a_transaction(replica_up):
    assert replica.read_alias() == "default"  # no listed view
    token = replica._may_read_replica.set(True)
    try:
        assert replica.read_alias() == "replica"
        with transaction.atomic():  # the read half of a write stays with the write
            assert replica.read_alias() == "default"
    finally:
        replica._may_read_replica.reset(token)


def test_an_unhealthy_replica_is_skipped(monkeypatch):
    monkeypatch.setattr(replica, "configured", lambda: True)
    monkeypatch.setattr(replica._health, "is_healthy", lambda: False)
    token = replica._may_read_replica.set(True)
    try:
        assert replica.read_alias() == "default"
    finally:
        replica._may_read_replica.reset(token)


def test_the_health_check_runs_at_most_every_few_seconds(monkeypatch):
    probes = []
    monkeypatch.setattr(replica, "_probe", lambda: probes.append(1) or True)
    health = replica._Health()
    assert health.is_healthy() and health.is_healthy()
    assert len(probes) == 1
    health.mark_unhealthy()
    assert not health.is_healthy()  # marked: not asked again before the next check is due
    health.checked_at -= replica.HEALTH_CHECK_SECONDS
    assert health.is_healthy() and len(probes) == 2
    # While one request of the process probes (a slow connect), the others go on with the last answer.
    health.checked_at -= replica.HEALTH_CHECK_SECONDS
    health.probing = True
    assert health.is_healthy() and len(probes) == 2


def _request(path, method="get", pin=None):
    request = getattr(RequestFactory(), method)(path)
    if pin is not None:
        request.COOKIES[replica.PIN_COOKIE] = pin
    request.resolver_match = resolve(path)
    return request


def test_the_pin_cookie_holds_for_its_seconds_and_cannot_be_forged(settings, monkeypatch):
    settings.REPLICA_PIN_SECONDS = 10
    fresh = signing.dumps(int(time.time()), salt=replica._PIN_SALT)
    assert replica._pinned(_request("/", pin=fresh))
    assert not replica._pinned(_request("/"))
    assert not replica._pinned(_request("/", pin="forged:value"))
    assert not replica._pinned(_request("/", pin=signing.dumps(1, salt="another")))
    settings.REPLICA_PIN_SECONDS = 0
    monkeypatch.setattr(time, "time", lambda: 10**10)
    assert not replica._pinned(_request("/", pin=fresh))


def test_which_views_may_read_the_replica():
    assert replica._is_replica_view(_request("/"))
    assert replica._is_replica_view(_request("/exports/entities.csv"))
    assert replica._is_replica_view(_request("/tolerance/funds/1/"))
    assert replica._is_replica_view(_request("/api/entities/"))
    assert not replica._is_replica_view(_request("/api/entities/1/"))  # one object: from the primary
    assert not replica._is_replica_view(_request("/api/entities/", method="post"))
    assert not replica._is_replica_view(_request("/teams/new/"))
    assert not replica._is_replica_view(_request("/my/"))
