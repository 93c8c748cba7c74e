"""Every URL and API operation of the portal × every role gets the answer tests/valley/permission_matrix.py expects.

One data set for the whole module (built once, rolled back at the end): everything belongs to applicant A and
lives in sub-venue X. Each case signs one role in and sends one request; a failure names URL, method and role.
A Markdown summary (URL × role) is written to the module's tmp dir and its path printed at the end.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import override_settings
from django.urls import path as url_path
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from tests.auth_helpers import reauthenticate
from tests.factories import (
    PDF_BYTES,
    FocusAreaFactory,
    FundFactory,
    InstitutionFactory,
    InvestmentFactory,
    MemberFactory,
    ResidencyFactory,
    SubVenueFactory,
    ValleyFactory,
    determined_case,
)
from tests.valley import permission_matrix as pm

CASES = pm.all_cases()


def _user(email, role=None, **fields):
    from valley.models import User

    code = pm.ROLE_GROUP.get(role)
    user = User.objects.create_user(
        email=email, password=None, is_staff=bool(code and pm.roles.ROLES[code].is_staff), **fields
    )
    if code:
        user.groups.add(Group.objects.get(name=code))
    return user


def _lasting_access_attempt(model, access):
    """django-axes deletes attempts older than its cool-off at every login; the matrix takes longer than that
    on a busy machine, so its attempt is dated a day ahead and outlives the run."""
    attempt = model.objects.create(
        **access, path_info="/accounts/login/", get_data="", post_data="", failures_since_start=1
    )
    model.objects.filter(pk=attempt.pk).update(attempt_time=timezone.now() + datetime.timedelta(days=1))
    return attempt


def build_data() -> dict:
    """The shared data set: one object of each kind, owned by applicant A, in sub-venue X."""
    from rest_framework.authtoken.models import Token

    from funding import post_award
    from funding import services as funding_services
    from funding.demo import walk_to
    from funding.models import FundPolicy, SubVenueBudget
    from teams import services as teams_services
    from teams.demo import demo_uscc
    from teams.models import Entity, Registration
    from tolerance.documents import investment_document_upload
    from tolerance.monitoring import company_reports_open_due
    from tolerance.services import compliance_check_run
    from tolerance.valuation import valuation_mark_record
    from valley.models import CalendarDay, Guide, ServiceLine, Target

    users = {role: _user(f"{role}@matrix.example.cn", role) for role in pm.ROLES if role not in ("anonymous",)}
    users["superuser"].is_superuser = users["superuser"].is_staff = True
    users["superuser"].save()
    valley = ValleyFactory()
    sub_venue_x, sub_venue_y = SubVenueFactory(code="matrix-x"), SubVenueFactory(code="matrix-y")
    users["operator_x"].sub_venues.add(sub_venue_x)
    users["operator_y"].sub_venues.add(sub_venue_y)
    service_line = ServiceLine.objects.create(code="matrix-finance", name_zh="金融服务", name_en="Finance")
    users["service_staff_x"].service_lines.add(service_line)
    budget = SubVenueBudget.objects.create(
        sub_venue=sub_venue_x, year=timezone.localdate().year, amount=Decimal("10000000")
    )
    applicant = users["applicant_a"]
    entity = ResidencyFactory(sub_venue=sub_venue_x, entity__owner=applicant).entity
    residency = entity.residencies.get()
    achievement = teams_services.achievement_create(entity=entity, by=applicant, title="中试成果", kind="patent")
    document = teams_services.document_upload(
        entity=entity, by=applicant, title="商业计划书", upload=SimpleUploadedFile("plan.pdf", PDF_BYTES)
    )
    serial = iter(range(900, 999))
    people = {
        "applicant": applicant,
        "reviewer": users["reviewer"],
        "approver": users["approver"],
        "registration": users["registration_officer"],
        "finance": users["finance_officer"],
        "next_uscc": lambda: demo_uscc(next(serial)),
    }
    application = funding_services.application_create(
        entity=entity, by=applicant, amount=Decimal("500000.00"), purpose="中试线建设", plan="建设中试线并注册公司。"
    )
    application = walk_to(application, "disbursement", people)
    fund_use_report = application.fund_use_reports.get()
    report_document = post_award.report_attach_document(
        report=fund_use_report, by=applicant, title="发票", upload=SimpleUploadedFile("invoice.pdf", PDF_BYTES)
    )
    in_registration = walk_to(
        funding_services.application_create(
            entity=ResidencyFactory(sub_venue=sub_venue_x, entity__owner=applicant).entity,
            by=applicant,
            amount=Decimal("500000.00"),
            purpose="中试线建设",
            plan="建设中试线并注册公司。",
        ),
        "registration",
        people,
    )
    entity2 = ResidencyFactory(sub_venue=sub_venue_x, entity__owner=applicant).entity
    draft = funding_services.application_create(
        entity=entity2, by=applicant, amount=Decimal("400000.00"), purpose="样机", plan="完成样机。"
    )
    draft_document = funding_services.application_attach_document(
        application=draft, by=applicant, title="预算", upload=SimpleUploadedFile("budget.pdf", PDF_BYTES)
    )
    # After the grant: a grant being recovered (its order), and one closed after its final acceptance.
    recovered = walk_to(
        funding_services.application_create(
            entity=ResidencyFactory(sub_venue=sub_venue_x, entity__owner=applicant).entity,
            by=applicant,
            amount=Decimal("300000.00"),
            purpose="追回",
            plan="中试。",
        ),
        "recovery",
        people,
    )
    accepted = walk_to(
        funding_services.application_create(
            entity=ResidencyFactory(sub_venue=sub_venue_x, entity__owner=applicant).entity,
            by=applicant,
            amount=Decimal("300000.00"),
            purpose="结题",
            plan="中试。",
        ),
        "closed",
        people,
    )
    fund = FundFactory()
    investment = InvestmentFactory(fund=fund, failed=True)
    InvestmentFactory(fund=fund)
    report = compliance_check_run(fund=fund, as_of=timezone.localdate())
    exemption = determined_case(investment, users["superuser"])
    # A startup of applicant A's with an investment (of a fund of its own) and its quarterly reports.
    portfolio_startup = ResidencyFactory(
        sub_venue=sub_venue_x, entity__owner=applicant, entity__kind=Entity.Kind.STARTUP
    ).entity
    InvestmentFactory(startup=portfolio_startup, invested_on=timezone.localdate() - datetime.timedelta(days=200))
    company_report = company_reports_open_due(entity_ids=[portfolio_startup.pk])[0]
    valuation_mark = valuation_mark_record(
        investment=investment,
        by=None,
        as_of=datetime.date(2024, 12, 31),
        fair_value=Decimal("200000.00"),
        method="write_down",
        evidence="清算前减值",
    )
    investment_document = investment_document_upload(
        investment=investment,
        by=None,
        kind="due_diligence",
        title="尽调报告",
        upload=SimpleUploadedFile("dd.pdf", PDF_BYTES),
    )
    from teams.service_requests import service_request_submit

    service_request = service_request_submit(
        entity=entity,
        line=service_line,
        by=applicant,
        subject="融资对接",
        details="需要对接天使投资。",
        uploads=[SimpleUploadedFile("plan.pdf", PDF_BYTES)],
    )
    # A team of applicant A's that is not resident yet, asking to enter sub-venue X.
    from teams.residency_requests import residency_request_submit
    from tests.factories import EntityFactory

    residency_request = residency_request_submit(
        entity=EntityFactory(owner=applicant),
        by=applicant,
        sub_venue=sub_venue_x,
        reason="需要中试场地。",
        needs=["pilot"],
        upload=SimpleUploadedFile("plan.pdf", PDF_BYTES),
        upload_title="入驻材料",
    )
    Token.objects.create(user=applicant)
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from valley.models import OutboxMessage, PrivacyNotice

    access = {"user_agent": "matrix", "ip_address": "127.0.0.9", "username": "b@example.cn", "http_accept": "*/*"}
    data = {
        **users,
        "applicant_a_user": applicant,
        "valley": valley,
        "sub_venue_x": sub_venue_x,
        "sub_venue_y": sub_venue_y,
        "institution": InstitutionFactory(),
        "focus_area": FocusAreaFactory(),
        "service_line": service_line,
        "service_request": service_request,
        "service_attachment": service_request.attachments.get(),
        "target": Target.objects.create(
            code="matrix-target",
            name_zh="目标",
            name_en="Target",
            target_value=10,
            measure=Target.Measure.choices[0][0],
        ),
        "calendar_day": CalendarDay.objects.create(
            date=datetime.date(2026, 10, 10), kind=CalendarDay.Kind.MAKE_UP_WORKING_DAY
        ),
        "budget": budget,
        "entity": entity,
        "residency": residency,
        "member": MemberFactory(entity=entity),
        "achievement": achievement,
        "stage_change": achievement.stage_changes.get(),
        "registration": Registration.objects.get(entity=entity),
        "document": document,
        "application": application,
        "application_event": application.events.first(),
        "expert_review": application.reviews.get(),
        "disbursement": application.disbursements.get(),
        "funding_agreement": application.agreement,
        "fund_use_report": fund_use_report,
        "report_document": report_document,
        "recovery_order": recovered.recovery,
        "final_acceptance": accepted.final_acceptance,
        "fund_policy": FundPolicy.objects.latest(),
        "draft": draft,
        "in_recovery": recovered,
        "in_registration": in_registration,
        "draft_document": draft_document,
        "fund": fund,
        "investment": investment,
        "investment_party": investment.parties.first(),
        "investment_document": investment_document,
        "compliance_report": report,
        "exemption": exemption,
        "exemption_case": exemption.case,
        "portfolio_startup": portfolio_startup,
        "company_report": company_report,
        "evaluation_year": timezone.localdate().year,
        "valuation_mark": valuation_mark,
        "group": Group.objects.get(name=pm.roles.AUDITOR),
        "token": applicant,  # the admin's token pages are keyed by the user's id
        "totp_device": TOTPDevice.objects.create(user=users["provincial_staff"], name="matrix"),
        "access_attempt": _lasting_access_attempt(AccessAttempt, access),
        "access_log": AccessLog.objects.create(**access, path_info="/accounts/login/"),
        "access_failure_log": AccessFailureLog.objects.create(**access, path_info="/accounts/login/"),
        "outbox_message": OutboxMessage.objects.create(task="valley.tasks.send_mail_task", kwargs={}),
        # Not in force yet (so the portal's notice is not the one the admin requests change or delete).
        "privacy_notice": PrivacyNotice.objects.create(
            version=99, effective_on=datetime.date(2099, 1, 1), text_zh="矩阵", text_en="Matrix"
        ),
        "entity_content_type": ContentType.objects.get_for_model(Entity),
        "residency_request": residency_request,
        "applying_entity": residency_request.entity,
        "request_document": residency_request.documents.get(),
        "guide": "fund",
        "guide_object": Guide.objects.get(service="fund"),
        "funding_app": "funding",
        "export": "applications",
        "queue": "formal",
        "transition": "withdraw",
        "bad_token": "not-a-valid-token",
        "bad_uid": "MQ",
    }
    missing = sorted(key for key, value in data.items() if value is None)
    assert not missing, f"the matrix's data set lacks {missing}"
    return data


@pytest.fixture(scope="module")
def matrix(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once inside a transaction that is rolled back after the module; each test runs in a savepoint."""
    media = tmp_path_factory.mktemp("matrix-media")
    with override_settings(MEDIA_ROOT=media), django_db_blocker.unblock(), transaction.atomic():
        data = build_data()
        data["_perms"] = pm.role_permissions()
        data["_results"] = defaultdict(dict)
        yield data
        _write_summary(data["_results"], tmp_path_factory.mktemp("matrix") / "permission-matrix.md")
        transaction.set_rollback(True)


def _write_summary(results, target):
    lines = [
        "| URL · method | " + " | ".join(pm.ROLES) + " |",
        "|---|" + "---|" * len(pm.ROLES),
    ]
    for key in sorted(results):
        lines.append(f"| {key} | " + " | ".join(results[key].get(role, "") for role in pm.ROLES) + " |")
    target.write_text("\n".join(lines) + "\n")
    print(f"\npermission matrix: {len(results)} URL·method rows × {len(pm.ROLES)} roles, summary in {target}")


@pytest.mark.parametrize("case", CASES, ids=str)
def test_permission_matrix(case, matrix, client, db):
    user = matrix.get(case.role)
    if user is not None:
        client.force_login(user)
        # The door each role may pass, not the re-authentication in front of money (tests/valley/test_accounts.py).
        reauthenticate(client)
    url = pm.case_url(case, matrix)
    if case.kind == "api":
        response = client.generic(case.method, url, b"{}", content_type="application/json")
    else:
        response = client.generic(
            case.method,
            url,
            **({"data": _encode(pm.case_body(case))} if case.method == "POST" else {}),
            content_type="application/x-www-form-urlencoded",
        )
    expected = case.expected
    if expected is None:
        label, admin_page = case.key.split(":")[1:]
        expected = pm.admin_expected(pm.ADMIN[label], label, admin_page, case.method, case.role, matrix["_perms"])
    actual = pm.outcome(response)
    matrix["_results"][f"{case.key} {case.method}"][case.role] = actual
    location = f" → {response['Location']}" if response.has_header("Location") else ""
    assert actual == expected, (
        f"{case.method} {url} as {case.role}: expected {expected}, got {actual} "
        f"(HTTP {response.status_code}{location}); the row is {case.key!r} in tests/valley/permission_matrix.py"
    )


def _encode(body: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(body)


# ------------------------------------------------------------------ lists hide what the object pages hide


def _hidden_in_lists():
    """(list path, data key, role): every API list whose object page answers `role` 404 must not list the object."""
    for (method, path), row in pm.API.items():
        if method != "GET" or not row.id or not path.endswith("/{id}/"):
            continue
        for role in pm.ROLES:
            if row.expect[role] == pm.NOT_FOUND:
                yield path.removesuffix("{id}/"), row.id, role


@pytest.mark.parametrize(("list_path", "key", "role"), list(_hidden_in_lists()), ids="|".join)
def test_api_lists_hide_what_the_object_page_hides(list_path, key, role, matrix, client, db):
    def listed_to(who):
        client.force_login(matrix[who])
        response = client.get(list_path)
        assert response.status_code == 200, response.content
        return {item["id"] for item in response.json()["results"]}

    assert matrix[key].pk in listed_to("superuser"), f"{list_path} does not list {key} at all: the check means nothing"
    assert matrix[key].pk not in listed_to(role), f"{list_path} lists {key} to {role}, whose object page is 404"


@pytest.mark.parametrize("name", ["teams:entity_list", "funding:mine"])
def test_applicant_lists_show_only_their_own(name, matrix, client, db):
    from django.urls import reverse

    entity = matrix["entity"]
    for role, shown in (("applicant_a", True), ("applicant_b", False)):
        client.force_login(matrix[role])
        page = client.get(reverse(name)).content.decode()
        assert (entity.name_zh in page or entity.name_en in page) is shown, f"{name} as {role}"


# ------------------------------------------------------------------ the tables cover everything there is


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_every_url_and_operation_has_a_row(schema):
    url_keys = {key for key, _route in pm.url_patterns()} - pm.admin_url_keys() - pm.api_url_keys(schema)
    problems = pm.uncovered(
        url_keys=url_keys, schema_ops=pm.schema_operations(schema), admin_models=pm.registered_admin_models()
    )
    assert not problems, "\n".join(problems)


def test_no_row_is_left_over(schema):
    """A row whose URL is gone is a stale expectation: remove it."""
    url_keys = {key for key, _route in pm.url_patterns()}
    assert set(pm.PAGES) - url_keys == set()
    assert set(pm.API) - pm.schema_operations(schema) == set()
    assert set(pm.ADMIN) - pm.registered_admin_models() == set()


def test_the_guard_names_a_url_without_a_row():
    """The guard itself: a new pattern, operation or admin model without a row is reported with where to add it."""
    from django.urls import URLResolver
    from django.urls.resolvers import RegexPattern

    extra = url_path("new-page/<int:pk>/", lambda request, pk: None, name="brand_new")
    resolver = URLResolver(RegexPattern(r"^"), [extra, url_path("unnamed/", lambda request: None)])
    keys = {key for key, _route in pm.url_patterns(resolver)}
    assert keys == {"brand_new", "route:unnamed/"}
    problems = pm.uncovered(
        url_keys=keys | {"home"},
        schema_ops={("DELETE", "/api/entities/{id}/")},
        admin_models={"teams.entity", "teams.newthing"},
    )
    assert problems == [
        "admin model teams.newthing has no row: add it to ADMIN in tests/valley/permission_matrix.py",
        "API operation DELETE /api/entities/{id}/ has no row: add it to API in tests/valley/permission_matrix.py",
        "URL brand_new has no row: add it to PAGES in tests/valley/permission_matrix.py",
        "URL route:unnamed/ has no row: add it to PAGES in tests/valley/permission_matrix.py",
    ]


def test_expectations_name_only_known_roles():
    with pytest.raises(ValueError, match="unknown roles"):
        pm.E(pm.OK, applicant_c=pm.FORBIDDEN)
    assert pm.E(pm.OK, staff=pm.FORBIDDEN, operator_y=pm.NOT_FOUND)["operator_x"] == pm.FORBIDDEN
    assert pm.E(pm.OK, staff=pm.FORBIDDEN, operator_y=pm.NOT_FOUND)["operator_y"] == pm.NOT_FOUND
