from django.urls import reverse

from funding.models import Application

S = Application.State


def test_staff_take_a_transition_from_the_admin_list_with_a_comment(client, application_in, people):
    application = application_in(S.SUBMITTED)
    people["reviewer"].is_staff = True
    people["reviewer"].save()
    client.force_login(people["reviewer"])
    url = reverse("admin:funding_application_changelist") + "?queue=formal"
    listing = client.get(url)
    assert listing.status_code == 200 and f">{application.pk}<" in listing.content.decode()
    confirm = client.post(url, {"action": "do_start_formal_review", "_selected_action": [application.pk]})
    assert "comment" in confirm.content.decode()
    client.post(
        url,
        {"action": "do_start_formal_review", "_selected_action": [application.pk], "apply": "1", "comment": "开始审查"},
    )
    application.refresh_from_db()
    assert application.state == S.FORMAL_REVIEW
    assert application.events.last().comment == "开始审查"


def test_a_refused_admin_action_says_why_and_changes_nothing(client, application_in, people):
    application = application_in(S.SUBMITTED)
    people["approver"].is_staff = True
    people["approver"].save()
    client.force_login(people["approver"])
    url = reverse("admin:funding_application_changelist")
    response = client.post(
        url,
        {"action": "do_start_formal_review", "_selected_action": [application.pk], "apply": "1", "comment": "x"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "may not" in response.content.decode()
    application.refresh_from_db()
    assert application.state == S.SUBMITTED


def test_auditors_get_no_admin_actions_and_no_change_view_writes(client, application_in, auditor):
    application = application_in(S.SUBMITTED)
    client.force_login(auditor)
    listing = client.get(reverse("admin:funding_application_changelist"))
    assert listing.status_code == 200
    assert "do_start_formal_review" not in listing.content.decode()
    response = client.post(reverse("admin:funding_application_change", args=[application.pk]), {"state": "closed"})
    assert response.status_code == 403
    application.refresh_from_db()
    assert application.state == S.SUBMITTED


# ------------------------------------------------------------------ budgets and policy versions: through the services


def test_finance_adds_a_budget_in_the_admin_through_the_service(client, people):
    from funding.models import SubVenueBudget
    from tests.factories import SubVenueFactory
    from valley.models import AuditEntry

    venue = SubVenueFactory(code="lvliang-test")
    client.force_login(people["finance"])
    response = client.post(
        reverse("admin:funding_subvenuebudget_add"), {"sub_venue": venue.pk, "year": "2027", "amount": "8000000"}
    )
    assert response["Location"] == reverse("admin:funding_subvenuebudget_changelist")
    budget = SubVenueBudget.objects.get(sub_venue=venue, year=2027)
    entry = AuditEntry.objects.get(action="funding.budget.created", object_id=str(budget.pk))
    assert (entry.actor, entry.after["amount"]) == (people["finance"], "8000000.00")


def test_a_budget_below_its_reservations_is_refused_on_the_form(client, application_in, people):
    from funding.models import SubVenueBudget
    from valley.models import AuditEntry

    budget = application_in(S.PUBLIC_NOTICE).budget  # 500,000 reserved
    client.force_login(people["finance"])
    url = reverse("admin:funding_subvenuebudget_change", args=[budget.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="sub_venue"' not in page and 'name="year"' not in page  # a budget stays with its sub-venue and year
    response = client.post(url, {"amount": "499999.99"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Approvals have reserved 500,000.00 yuan from this budget; it cannot be less." in response.content.decode()
    assert SubVenueBudget.objects.get(pk=budget.pk).amount == budget.amount
    assert not AuditEntry.objects.filter(action="funding.budget.changed", before__has_key="amount").exists()
    assert client.post(url, {"amount": "600000"})["Location"] == reverse("admin:funding_subvenuebudget_changelist")
    entry = AuditEntry.objects.get(action="funding.budget.changed", before__has_key="amount")
    assert (entry.actor, entry.before, entry.after) == (
        people["finance"],
        {"amount": "10000000.00"},
        {"amount": "600000.00"},
    )


def test_the_admin_transition_actions_call_the_pages_service(client, application_in, people, monkeypatch):
    from funding import services

    taken = []
    real = services.application_take
    monkeypatch.setattr(services, "application_take", lambda **kw: taken.append(kw["name"]) or real(**kw))
    application = application_in(S.FORMAL_REVIEW)
    client.force_login(people["reviewer"])
    url = reverse("admin:funding_application_changelist")
    client.post(url, {"action": "do_pass_formal_review", "_selected_action": [application.pk], "apply": "1"})
    assert taken == ["pass_formal_review"]
    application.refresh_from_db()
    assert application.state == S.EXPERT_REVIEW


# ------------------------------------------------------------------ numbers and history as people read them


def test_the_admin_takes_a_grouped_amount_and_shows_money_and_shares_as_the_pages_do(client, people):
    from funding.models import FundPolicy, SubVenueBudget
    from tests.factories import SubVenueFactory

    venue = SubVenueFactory(code="datong-test")
    client.force_login(people["finance"])
    response = client.post(
        reverse("admin:funding_subvenuebudget_add"),
        {"sub_venue": venue.pk, "year": "2027", "amount": "1,000,000.00"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    budget = SubVenueBudget.objects.get(sub_venue=venue, year=2027)
    assert str(budget.amount) == "1000000.00"

    refused = client.post(
        reverse("admin:funding_subvenuebudget_change", args=[budget.pk]), {"amount": "1,000,00"}
    ).content.decode()
    # It says what to type, not Django's "enter a number".
    assert "“1,000,00”不是有效金额" in refused and "输入一个数字" not in refused

    change_form = client.get(reverse("admin:funding_subvenuebudget_change", args=[budget.pk])).content.decode()
    assert 'value="1,000,000.00"' in change_form  # shown back as typed

    listing = client.get(reverse("admin:funding_subvenuebudget_changelist")).content.decode()
    assert "¥1,000,000.00" in listing and "1000000.00" not in listing

    policy = FundPolicy.objects.order_by("-effective_from").first()
    people["finance"].is_superuser = True
    people["finance"].save()
    policies = client.get(reverse("admin:funding_fundpolicy_changelist")).content.decode()
    assert policy is not None and f"{policy.max_paid_in_share * 100:.2f}%" in policies
    assert f">{policy.max_paid_in_share}<" not in policies


def test_the_admin_history_names_each_step_in_the_readers_language(client, application_in, auditor):
    import re

    application_in(S.SUBMITTED)
    client.force_login(auditor)
    url = reverse("admin:funding_applicationevent_changelist")
    for language, created, submitted in (("en", "application created", "submit"), ("zh-hans", "创建申请", "提交")):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        shown = re.findall(r'<td class="field-action_shown">([^<]*)</td>', page)
        assert sorted(shown) == sorted([created, submitted]), (language, shown)
        assert ">funding.application." not in page  # no code in a cell nor in the filter's choices


def test_every_action_the_history_filter_offers_has_a_name_in_both_languages():
    from django.utils import translation

    from funding.admin import ActionFilter

    for language in ("en", "zh-hans"):
        with translation.override(language):
            choices = ActionFilter.lookups(None, None, None)
            assert len(choices) > 20
            unnamed = [code for code, label in choices if str(label) == code or str(label).startswith("funding.")]
            assert unnamed == [], (language, unnamed)


def test_read_only_money_in_the_admin_reads_as_on_the_pages(client, application_in, people):
    budget = application_in(S.PUBLIC_NOTICE).budget  # 500,000 reserved
    client.force_login(people["finance"])
    page = client.get(reverse("admin:funding_subvenuebudget_change", args=[budget.pk])).content.decode()
    assert "¥500,000.00" in page and "500000.00" not in page  # reserved, read-only
    assert 'name="reserved' not in page  # shown, not offered for editing
    assert 'value="10,000,000.00"' in page  # the amount stays editable, grouped


def test_someone_who_may_only_view_reads_money_shares_and_actions_in_words(client, application_in, auditor):
    """Django shows every field of a view-only page read-only past get_readonly_fields: an auditor still
    reads ¥300,000.00 and 50.00%, not 300000.00 and 0.500, and a history row's action in words."""
    from funding.models import ApplicationEvent, FundPolicy

    application = application_in(S.SUBMITTED)
    policy = FundPolicy.objects.order_by("-effective_from").first()
    client.force_login(auditor)
    page = client.get(reverse("admin:funding_fundpolicy_change", args=[policy.pk])).content.decode()
    assert f"¥{policy.min_amount:,.2f}" in page and f">{policy.min_amount}<" not in page
    assert f"{policy.max_paid_in_share * 100:.2f}%" in page and f">{policy.max_paid_in_share}<" not in page
    shown = client.get(reverse("admin:funding_application_change", args=[application.pk])).content.decode()
    assert f"{application.max_paid_in_share * 100:.2f}%" in shown
    event = ApplicationEvent.objects.filter(application=application).order_by("pk").first()
    one = client.get(reverse("admin:funding_applicationevent_change", args=[event.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert "application created" in one.content.decode() and "funding.application.created" not in one.content.decode()
