"""The big tables' admin lists: bounded counts, no SELECT DISTINCT, and the home figures' cache."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from valley.models import AuditEntry
from valley.web import admin_lists


@pytest.mark.postgres
def test_paginator_counts_exactly_below_the_limit_and_estimates_above(db, monkeypatch):
    from tests.factories import EntityFactory

    EntityFactory.create_batch(5)
    from teams.models import Entity

    monkeypatch.setattr(admin_lists, "EXACT_COUNT_LIMIT", 3)
    filtered = Entity.objects.filter(pk__gt=0)
    paginator = admin_lists.EstimatedCountPaginator(filtered, 2)
    with CaptureQueriesContext(connection) as queries:
        count = paginator.count
    assert count >= 4, "more than the limit: at least the capped count"
    assert any("LIMIT 4" in query["sql"] for query in queries.captured_queries), "the count stops at the limit"
    monkeypatch.setattr(admin_lists, "EXACT_COUNT_LIMIT", 100)
    assert admin_lists.EstimatedCountPaginator(filtered, 2).count == 5
    assert admin_lists.EstimatedCountPaginator(AuditEntry.objects.all(), 2).count == AuditEntry.objects.count()


@pytest.mark.parametrize(
    "name", ["funding_application", "funding_applicationevent", "tolerance_investment", "tolerance_investmentparty"]
)
def test_big_admin_lists_never_select_distinct_or_count_the_whole_table_twice(admin_client, name):
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(reverse(f"admin:{name}_changelist"))
    assert response.status_code == 200
    sql = [query["sql"] for query in queries.captured_queries]
    assert not [q for q in sql if "SELECT DISTINCT" in q.upper()], "a list filter reads every row"
    assert sum("COUNT(" in q.upper() for q in sql) <= 1


def test_home_figures_are_cached_when_asked(client, db, settings):
    settings.HOME_FIGURES_CACHE_SECONDS = 60
    from django.core.cache import cache

    cache.clear()
    client.get("/")
    with CaptureQueriesContext(connection) as queries:
        client.get("/")
    assert not [q for q in queries.captured_queries if "teams_entity" in q["sql"]]
    cache.clear()


def test_fast_action_checkbox_writes_the_same_markup_as_django(db):
    from django.contrib import admin

    from funding.admin import ApplicationAdmin
    from tests.factories import EntityFactory

    entity = EntityFactory(name_zh='<b>"团队" & co</b>', name_en='<b>"Team" & co</b>')
    fast = ApplicationAdmin(entity._meta.model, admin.site)  # any model: the checkbox reads pk and str()
    assert fast.action_checkbox(entity) == admin.ModelAdmin.action_checkbox(fast, entity)


def test_big_admin_lists_link_each_row_to_its_own_change_page_and_show_100_rows(admin_client, application_in):
    from funding.models import Application

    made = [application_in("submitted") for _ in range(3)]
    response = admin_client.get(reverse("admin:funding_application_changelist"))
    cl = response.context["cl"]
    assert cl.list_per_page == 100
    body = response.content.decode()
    for application in Application.objects.filter(pk__in=[a.pk for a in made]):
        change = reverse("admin:funding_application_change", args=[application.pk])
        assert cl.url_for_result(application) == change
        assert f'href="{change}"' in body


def test_choice_labels_follow_the_active_language_and_keep_unknown_values():
    from django.utils import translation

    from funding.models import Application

    application = Application(state=Application.State.SUBMITTED)
    with translation.override("en"):
        assert application.get_state_display() == "submitted"
    with translation.override("zh-hans"):
        assert application.get_state_display() == "已提交"
    assert Application(state="no_such_state").get_state_display() == "no_such_state"  # as Django answers
