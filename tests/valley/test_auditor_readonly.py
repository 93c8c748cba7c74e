"""An auditor reads everything in the admin and can change nothing there."""

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse


@pytest.fixture
def demo(db, settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)


def test_every_admin_add_and_change_view_answers_an_auditor_with_403(client, auditor, demo):
    client.force_login(auditor)
    checked = 0
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        if opts.app_label not in {"valley", "teams", "funding", "tolerance"}:
            continue
        add_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        assert client.post(add_url, {}).status_code == 403, add_url
        obj = model._default_manager.first()
        if obj is None:
            continue
        change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        assert client.post(change_url, {}).status_code == 403, change_url
        delete_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk])
        assert client.post(delete_url, {"post": "yes"}).status_code == 403, delete_url
        checked += 1
    assert checked >= 8


def test_an_auditor_can_read_the_records_in_the_admin(client, auditor, demo):
    client.force_login(auditor)
    for name in ("funding_application", "funding_applicationevent", "teams_entity", "valley_subvenue"):
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200, name
    assert client.get(reverse("admin:valley_user_changelist")).status_code == 403  # accounts are not records
