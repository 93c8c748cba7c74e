"""Two web nodes with one Redis for their cache (CACHE_URL): a session made on one is valid on the other, a
session ended on one is ended on both, the home figures are computed once for both, and with the cache's
Redis stopped both nodes answer, the signed-in person still signed in (sessions fall back to the database).

With the cache in each process's memory (no CACHE_URL) sessions stay in the database alone: a logout seen
by one node's memory only would leave the session alive on the other.
"""

import os
import re
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.utils import timezone

from tests.conftest import database_url_for_subprocess
from tests.faults.conftest import WEB_PORT, http, start_process, stop_process

PASSWORD = "Valley-cache-test-2026!"
NODES = (WEB_PORT, WEB_PORT + 1)


def _csrf(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def _post(opener, url: str, fields: dict, referer: str):
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Referer": referer}
    return http("POST", url, urllib.parse.urlencode(fields).encode(), headers, opener)


def _signed_in(opener, base: str, email: str) -> bool:
    status, _, page = http("GET", f"{base}/my/", opener=opener)
    return status == 200 and email in page


@pytest.mark.redis
def test_two_nodes_share_sessions_and_figures_and_answer_without_the_cache(transactional_db, own_redis, tmp_path):
    import redis

    cache_url = own_redis.url.rsplit("/", 1)[0] + "/1"
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "CACHE_URL": cache_url,
        "CACHE_KEY_PREFIX": "shared-test",
        "HOME_FIGURES_CACHE_SECONDS": "300",
        "DEBUG": "1",
    }
    email = "two-nodes@example.cn"
    # Hashed as the nodes hash (the test process itself hashes with MD5, for speed).
    hasher = PBKDF2PasswordHasher()
    people = get_user_model().objects
    people.create_user(email=email, password=None, email_confirmed_at=timezone.now())
    people.filter(email=email).update(password=hasher.encode(PASSWORD, hasher.salt()))
    one, two = (f"http://127.0.0.1:{port}" for port in NODES)
    nodes = [
        start_process(
            ["manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"], env, tmp_path / f"node-{port}.log", "Quit"
        )
        for port in NODES
    ]
    cache = redis.Redis.from_url(cache_url)
    # One browser: cookies are per host, not per port, so both nodes get the same session cookie.
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    try:
        _, _, page = http("GET", f"{one}/accounts/login/", opener=browser)
        status, _, _ = _post(
            browser,
            f"{one}/accounts/login/",
            {"csrfmiddlewaretoken": _csrf(page), "username": email, "password": PASSWORD},
            f"{one}/accounts/login/",
        )
        assert status == 200, status  # followed the redirect to "my tasks"
        assert _signed_in(browser, two, email), "a session made on one node is not valid on the other"
        assert list(cache.scan_iter("shared-test:*cached_db*")), "the session is not in the shared cache"

        assert http("GET", f"{one}/", opener=browser)[0] == 200
        assert list(cache.scan_iter("shared-test:*valley:figures:*")), "the home figures are not in the shared cache"

        # Signed out on the second node: the first node no longer knows the session either.
        _, _, page = http("GET", f"{two}/my/", opener=browser)
        _post(browser, f"{two}/accounts/logout/", {"csrfmiddlewaretoken": _csrf(page)}, f"{two}/my/")
        assert not _signed_in(browser, one, email), "a session ended on one node lives on on the other"

        # Signed in again, then the cache's Redis goes away: pages answer, the person stays signed in.
        _, _, page = http("GET", f"{one}/accounts/login/", opener=browser)
        _post(
            browser,
            f"{one}/accounts/login/",
            {"csrfmiddlewaretoken": _csrf(page), "username": email, "password": PASSWORD},
            f"{one}/accounts/login/",
        )
        own_redis.stop()
        for base in (one, two):
            for path in ("/", "/my/", "/funding/", "/guides/"):
                status, seconds, _ = http("GET", f"{base}{path}", opener=browser)
                assert status == 200 and seconds < 5, (base, path, status, seconds)
            assert _signed_in(browser, base, email), f"{base}: signed out when the cache went away"
    finally:
        for node in nodes:
            stop_process(node)
