"""Logs with a request id (into Celery tasks), the metrics a scraper reads, and /readyz."""

import datetime
import json
import logging
import os
import subprocess
import sys
from unittest import mock

import pytest
from django.conf import settings
from django.db import OperationalError
from django.http import HttpResponse
from django.test import override_settings
from django.urls import path

from tests.conftest import ROOT, wait_for
from valley.messaging import outbox
from valley.models import OutboxMessage
from valley.observability import readiness

CLOSED_PORT = "redis://127.0.0.1:1/0"  # nothing listens on port 1
TOKEN = "metrics-token-for-the-tests-0123456789abcdef"


def _queue_the_heartbeat(request):
    logging.getLogger("valley.tests").info("queuing the heartbeat")
    outbox.enqueue("valley.tasks.heartbeat")
    return HttpResponse("queued")


# A page that sends a task, the way the portal's services do (through the outbox, after commit).
urlpatterns = [path("queue-heartbeat/", _queue_the_heartbeat)]


# ---------------------------------------------------------------------------- request ids in logs


def test_a_request_gets_an_id_in_its_response_header_and_in_its_log_lines(client, db, caplog):
    caplog.set_level(logging.WARNING, logger="django.request")
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    # Django logs "Not Found" after the middleware has answered: the line still carries the request's id.
    (line,) = [record for record in caplog.records if record.name == "django.request"]
    assert line.request_id == request_id
    assert client.get("/no-such-page/")["X-Request-ID"] != request_id  # each request its own


def test_an_incoming_request_id_is_kept_only_when_trusted_and_well_formed(client, db, settings):
    settings.REQUEST_ID_TRUST_HEADER = False
    assert client.get("/healthz", headers={"X-Request-ID": "from-the-proxy-1"})["X-Request-ID"] != "from-the-proxy-1"
    settings.REQUEST_ID_TRUST_HEADER = True
    assert client.get("/healthz", headers={"X-Request-ID": "from-the-proxy-1"})["X-Request-ID"] == "from-the-proxy-1"
    forged = "x\nFAKE LOG LINE"
    assert client.get("/healthz", headers={"X-Request-ID": forged})["X-Request-ID"] != forged


def test_log_lines_are_json_objects_when_log_format_is_json():
    code = "import logging; logging.getLogger('valley.check').warning('资金 %s', 'ok')"
    env = {**os.environ, "LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "valley.settings"}
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    line = json.loads(done.stderr.strip().splitlines()[-1])
    assert line["message"] == "资金 ok"
    assert line["level"] == "WARNING"
    assert line["logger"] == "valley.check"
    assert line["request_id"] == "-"  # written outside any request
    assert "time" in line


def test_a_bad_log_format_stops_start_up():
    env = {**os.environ, "LOG_FORMAT": "xml"}
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode != 0
    assert "LOG_FORMAT='xml' is neither json nor plain" in done.stderr


@pytest.fixture
def json_worker(transactional_db, monkeypatch, request):
    """A real worker (tests/conftest.py) that logs JSON lines."""
    monkeypatch.setenv("LOG_FORMAT", "json")
    return request.getfixturevalue("celery_worker_process")


@override_settings(ROOT_URLCONF=__name__)
def test_a_task_sent_during_a_request_logs_that_requests_id_in_the_worker(json_worker, client):
    response = client.get("/queue-heartbeat/")
    assert response.status_code == 200
    request_id = response["X-Request-ID"]

    def heartbeat_lines():
        lines = [json.loads(raw) for raw in json_worker.log_path.read_text().splitlines() if raw.startswith("{")]
        return [line for line in lines if line["message"].startswith("valley heartbeat at")]

    (line,) = wait_for(heartbeat_lines, timeout=60, what="the heartbeat's log line in the worker")
    assert line["request_id"] == request_id
    assert line["task_name"] == "valley.tasks.heartbeat"
    assert line["task_id"]
    assert OutboxMessage.objects.get().request_id == request_id


def test_a_task_the_sweeper_sends_later_still_carries_the_id_of_the_request_that_queued_it(json_worker):
    # Queued during a request while the broker was away; sent by the sweeper, outside any request.
    OutboxMessage.objects.create(task="valley.tasks.heartbeat", request_id="queued-by-request-42")
    assert outbox.publish() == 1

    def heartbeat_lines():
        lines = [json.loads(raw) for raw in json_worker.log_path.read_text().splitlines() if raw.startswith("{")]
        return [line for line in lines if line["message"].startswith("valley heartbeat at")]

    (line,) = wait_for(heartbeat_lines, timeout=60, what="the heartbeat's log line in the worker")
    assert line["request_id"] == "queued-by-request-42"


# ---------------------------------------------------------------------------- metrics


@pytest.fixture
def superuser(make_user):
    user = make_user(email="root@example.cn", is_superuser=True)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def test_the_metrics_are_refused_to_the_public_and_to_other_users(client, applicant, provincial_staff, settings):
    settings.METRICS_TOKEN = TOKEN
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert b"valley_" not in anonymous.content
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong-" + TOKEN}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 401  # not as a bearer token
    for user in (applicant, provincial_staff):
        client.force_login(user)
        assert client.get("/metrics").status_code == 403


def test_without_a_token_configured_no_bearer_token_opens_the_metrics(client, db, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


def test_the_scraper_reads_requests_latency_queue_outbox_and_compliance_age(client, db, settings, superuser):
    from tests.factories import FundFactory
    from tolerance.models import ComplianceReport
    from tolerance.services import compliance_check_run

    settings.METRICS_TOKEN = TOKEN
    client.get("/healthz")
    OutboxMessage.objects.create(task="valley.tasks.heartbeat", kwargs={})  # never published: the backlog
    compliance_check_run(fund=FundFactory(), as_of=datetime.date(2025, 12, 31))
    ComplianceReport.objects.update(computed_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=30))

    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert 'valley_http_requests_total{method="GET",status="200",view="healthz"}' in text
    assert 'valley_http_request_duration_seconds_count{method="GET",view="healthz"}' in text
    assert "\nvalley_celery_queue_depth " in text
    assert "\nvalley_outbox_backlog 1.0" in text
    assert "\nvalley_outbox_oldest_unpublished_age_seconds " in text
    age = next(line for line in text.splitlines() if line.startswith("valley_compliance_check_age_seconds "))
    assert 30 * 3600 <= float(age.split()[1]) < 31 * 3600
    assert 'valley_scrape_errors{gauge="valley_celery_queue_depth"} 0.0' in text

    client.force_login(superuser)  # a superuser may look by hand
    assert client.get("/metrics").status_code == 200


def test_the_queue_depth_counts_the_tasks_waiting_for_a_worker(client, db, settings):
    from celery import current_app

    from valley.ops.tasks import echo

    settings.METRICS_TOKEN = TOKEN

    def depth():
        text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content.decode()
        return float(
            next(line for line in text.splitlines() if line.startswith("valley_celery_queue_depth ")).split()[1]
        )

    before = depth()
    echo.apply_async(("waiting",), ignore_result=True)  # no worker runs in this test
    try:
        assert depth() == before + 1
    finally:
        current_app.control.purge()


def test_an_unreachable_broker_leaves_the_queue_depth_out_and_says_so(client, db, settings, closed_broker):
    settings.METRICS_TOKEN = TOKEN
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content.decode()
    assert "\nvalley_celery_queue_depth " not in text
    assert 'valley_scrape_errors{gauge="valley_celery_queue_depth"} 1.0' in text
    assert "\nvalley_outbox_backlog 0.0" in text  # the rest still reach Prometheus


def test_a_request_that_cannot_be_counted_is_still_answered(client, db, monkeypatch):
    from valley.observability import metrics

    monkeypatch.setattr(metrics.REQUESTS, "labels", mock.Mock(side_effect=FileNotFoundError("multiprocess dir")))
    assert client.get("/healthz").status_code == 200


def test_a_short_metrics_token_stops_start_up():
    env = {**os.environ, "METRICS_TOKEN": "short"}
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode != 0
    assert "METRICS_TOKEN must be at least 32 characters" in done.stderr


# ---------------------------------------------------------------------------- readiness


@pytest.fixture
def closed_broker(monkeypatch):
    """The Celery app's connections pointed at a port on 127.0.0.1 where nothing listens."""
    from celery import current_app

    for name in ("connection_for_read", "connection_for_write"):
        opened_by = getattr(current_app, name)
        monkeypatch.setattr(current_app, name, lambda opened_by=opened_by: opened_by(CLOSED_PORT))


def test_ready_when_database_broker_cache_and_storage_answer(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "cache": "ok", "storage": "ok"},
    }


@pytest.fixture
def broken(request, monkeypatch, tmp_path):
    """Breaks one dependency: the parameter names which."""
    if request.param == "database":
        unreachable = mock.Mock(**{"cursor.side_effect": OperationalError("connection refused")})
        monkeypatch.setattr(readiness, "connection", unreachable)
    elif request.param == "broker":
        request.getfixturevalue("closed_broker")
    elif request.param == "cache":
        location = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CLOSED_PORT}
        changed = override_settings(CACHES={"default": location})
        changed.enable()
        request.addfinalizer(changed.disable)
    elif request.param == "storage":
        not_a_folder = tmp_path / "a-file"
        not_a_folder.write_text("")
        storages = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(not_a_folder)},
            },
        }
        changed = override_settings(STORAGES=storages)
        changed.enable()
        request.addfinalizer(changed.disable)
    return request.param


@pytest.mark.parametrize("broken", ["database", "broker", "cache", "storage"], indirect=True)
def test_not_ready_names_the_dependency_that_fails(client, db, broken):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == [broken]
    assert body["checks"][broken].startswith("failed: ")
    assert all(result == "ok" for name, result in body["checks"].items() if name != broken)
    assert "127.0.0.1:1" not in response.content.decode()  # the error's class, never the address or a password
