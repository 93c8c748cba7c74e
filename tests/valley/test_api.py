"""The REST API as a whole: authentication, the schema and its docs page, who sees which records, that
auditors never write, and a constant number of queries per list page. The lists of endpoints come from
the router and the schema, so that a new endpoint cannot be left out of these tests."""

import datetime
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from funding.models import Application, ApplicationEvent, Disbursement
from teams.models import Achievement, AchievementStageChange, Document, Member
from tests.api_support import results, session_client, token_client
from valley.core import roles
from valley.web.api_urls import router

S = Application.State
REFERENCE_DATA = {"valley", "sub-venue", "institution", "focus-area", "service-line", "target", "fund-policy"}


@pytest.fixture
def schema(db):
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def write_operations(schema) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in {"post", "put", "patch", "delete"}
    ]


@pytest.fixture
def closed_application(application_in, people):
    """An application of the applicant that went all the way: it has history, reviews and instalments."""
    application = application_in(S.CLOSED)
    Member.objects.create(entity=application.entity, name="李明", is_lead=True, phone="13800000000")
    add_achievement_and_document(application.entity, people["reviewer"])
    return application


def add_achievement_and_document(entity, staff):
    achievement = Achievement.objects.create(entity=entity, title="煤基新材料", kind=Achievement.Kind.PATENT)
    AchievementStageChange.objects.create(
        achievement=achievement,
        from_stage="lab",
        to_stage="pilot",
        changed_on=datetime.date(2026, 3, 1),
        changed_by=staff,
    )
    # The row only: no file is written, and the API never shows where a file lies.
    Document.objects.create(
        entity=entity,
        title="中试方案",
        file="documents/0123456789abcdef.pdf",
        original_name="方案.pdf",
        content_type="application/pdf",
        size=1024,
        uploaded_by=entity.owner,
    )


# ---------------------------------------------------------------- authentication, schema, docs


def test_without_credentials_the_api_answers_401_with_a_token_challenge(db):
    response = APIClient().get("/api/applications/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_token_made_with_the_management_command_signs_in(applicant, capsys):
    call_command("drf_create_token", applicant.email.upper())
    key = Token.objects.get(user=applicant).key
    assert key in capsys.readouterr().out
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/applications/").status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    assert client.get("/api/applications/").status_code == 401


def test_the_schema_is_openapi_3_and_lists_every_registered_resource(schema):
    assert schema["openapi"].startswith("3.")
    for prefix, _viewset, basename in router.registry:
        assert f"/api/{prefix}/" in schema["paths"], basename
    assert set(schema["components"]["securitySchemes"]) == {"tokenAuth", "cookieAuth"}


def test_the_docs_page_is_served_from_our_own_static_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    # The page's script is a file of its own (the Content-Security-Policy refuses inline scripts).
    assert '<script src="/api/docs/?script="></script>' in page
    script = client.get("/api/docs/?script=").content.decode()
    assert "/api/schema/" in script
    assert "cdn" not in script.lower()


def test_no_user_secret_appears_in_any_answer(closed_application, people, provincial_staff):
    client = token_client(provincial_staff)
    for prefix, _viewset, _basename in router.registry:
        text = client.get(f"/api/{prefix}/").content.decode()
        assert "password" not in text and "pbkdf2" not in text and "md5$" not in text, prefix
        assert "documents/0123456789abcdef" not in text, prefix
        assert Token.objects.get(user=provincial_staff).key not in text, prefix


# ---------------------------------------------------------------- visibility


def records_of(owner) -> dict[str, list[int]]:
    """Every record of `owner` per API resource, found through the ownership path of its model."""
    found = {}
    for prefix, viewset, basename in router.registry:
        if basename in REFERENCE_DATA:
            continue
        model = viewset.serializer_class.Meta.model
        fields = {f.name for f in model._meta.get_fields()}
        if "owner" in fields:
            lookup = {"owner": owner}
        elif "entity" in fields:
            lookup = {"entity__owner": owner}
        elif "achievement" in fields:
            lookup = {"achievement__entity__owner": owner}
        elif "application" in fields:
            lookup = {"application__entity__owner": owner}
        elif "sub_venue" in fields or model._meta.app_label == "tolerance":
            # Budgets and the investment portfolio are kept by staff: no applicant owns any of them.
            lookup = {"pk__in": []}
        else:
            pytest.fail(f"say how a {model.__name__} belongs to an applicant ({prefix})")
        found[prefix] = list(model.objects.filter(**lookup).values_list("pk", flat=True))
    return found


def test_another_applicant_reaches_none_of_the_first_ones_records(closed_application, other_applicant, schema):
    mine = records_of(closed_application.entity.owner)
    for prefix in (
        "entities",
        "members",
        "residencies",
        "achievements",
        "achievement-stage-changes",
        "documents",
        "registrations",
        "applications",
    ):
        assert mine[prefix], f"the fixture should give the applicant some {prefix}"
    assert mine["application-events"] and mine["expert-reviews"] and mine["disbursements"]

    theirs = token_client(other_applicant)
    for prefix, pks in mine.items():
        listed = {row["id"] for row in results(theirs.get(f"/api/{prefix}/"))}
        assert not listed & set(pks), prefix
        for pk in pks:
            assert theirs.get(f"/api/{prefix}/{pk}/").status_code == 404, (prefix, pk)
    # Every write on the first applicant's application is a 404 too, not a 403 that would confirm it exists.
    for method, path in write_operations(schema):
        if "{id}" not in path:
            continue
        target = path.replace("{id}", str(closed_application.pk)).replace("{name}", "withdraw")
        response = theirs.generic(method, target, "{}", content_type="application/json")
        assert response.status_code == 404, (method, path)


def test_the_owner_sees_their_own_records_but_no_staff_fields(closed_application):
    owner = token_client(closed_application.entity.owner)
    mine = records_of(closed_application.entity.owner)
    for prefix, pks in mine.items():
        if prefix == "expert-reviews":
            continue  # applicants see no expert reviews, as on the web pages
        assert {row["id"] for row in results(owner.get(f"/api/{prefix}/"))} == set(pks), prefix
    events = results(owner.get("/api/application-events/"))
    assert {e["by"] for e in events} == {None} and {e["internal_note"] for e in events} == {None}
    application = owner.get(f"/api/applications/{closed_application.pk}/").json()
    assert application["decided_by"] is None and application["budget"] is None


def test_an_operator_sees_only_their_sub_venues_records(closed_application, make_user, application_in):
    from tests.factories import SubVenueFactory

    operator = make_user(roles.SUB_VENUE_OPERATOR)
    elsewhere = SubVenueFactory()
    operator.sub_venues.add(elsewhere)
    client = token_client(operator)
    assert results(client.get("/api/applications/")) == []
    assert results(client.get("/api/entities/")) == []
    assert results(client.get("/api/budgets/")) == []
    assert client.get(f"/api/applications/{closed_application.pk}/").status_code == 404

    operator.sub_venues.add(closed_application.sub_venue)
    client = token_client(operator)
    assert [a["id"] for a in results(client.get("/api/applications/"))] == [closed_application.pk]
    assert [e["id"] for e in results(client.get("/api/entities/"))] == [closed_application.entity_id]


def test_auditors_and_staff_see_every_record(closed_application, auditor, provincial_staff):
    for user in (auditor, provincial_staff):
        client = session_client(user)
        assert [a["id"] for a in results(client.get("/api/applications/"))] == [closed_application.pk]
        events = results(client.get("/api/application-events/"))
        assert len(events) == ApplicationEvent.objects.count()
        assert any(e["by"] for e in events)


# ---------------------------------------------------------------- auditors never write


def test_every_write_endpoint_answers_an_auditor_403(schema, auditor, application_in, people):
    operations = write_operations(schema)
    assert {path for _method, path in operations} >= {
        "/api/applications/",
        "/api/applications/{id}/",
        "/api/applications/{id}/transitions/{name}/",
        "/api/applications/{id}/approve/",
        "/api/applications/{id}/verify-registration/",
        "/api/applications/{id}/disburse/",
    }
    application = application_in(S.AWAITING_DECISION)
    events_before = ApplicationEvent.objects.count()
    names = schema["paths"]["/api/applications/{id}/transitions/{name}/"]["post"]["parameters"][1]["schema"]["enum"]
    for client in (token_client(auditor), session_client(auditor)):
        for method, path in operations:
            for name in names if "{name}" in path else [None]:
                target = path.replace("{id}", str(application.pk)).replace("{name}", name or "")
                body = {"approved_amount": "500000", "comment": "审计", "amount": "500000", "purpose": "x"}
                response = client.generic(method, target, json.dumps(body), "application/json")
                assert response.status_code == 403, (method, target, response.content)
    assert ApplicationEvent.objects.count() == events_before
    assert Application.objects.get(pk=application.pk).state == S.AWAITING_DECISION


# ---------------------------------------------------------------- queries per page


def _more_data(application_in, people, count):
    for _ in range(count):
        application = application_in(S.CLOSED)
        Member.objects.create(entity=application.entity, name="成员", is_lead=True)
        add_achievement_and_document(application.entity, people["reviewer"])


@pytest.mark.parametrize("who", ["applicant", "auditor", "operator"])
def test_every_list_runs_the_same_number_of_queries_whatever_the_data_size(
    who, application_in, people, auditor, make_user, django_assert_max_num_queries
):
    users = {"applicant": people["applicant"], "auditor": auditor, "operator": make_user(roles.SUB_VENUE_OPERATOR)}
    _more_data(application_in, people, 1)
    users["operator"].sub_venues.add(Application.objects.first().sub_venue)
    counts = {}
    for prefix, _viewset, _basename in router.registry:
        client = token_client(users[who])  # a fresh user object each time: nothing remembered between pages
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/api/{prefix}/").status_code == 200
        counts[prefix] = len(queries)

    _more_data(application_in, people, 4)
    assert Disbursement.objects.count() >= 10
    for prefix, _viewset, _basename in router.registry:
        client = token_client(users[who])
        with django_assert_max_num_queries(counts[prefix]):
            page = client.get(f"/api/{prefix}/")
        assert page.status_code == 200


def test_amounts_are_strings_with_two_decimals(closed_application, auditor):
    client = token_client(auditor)
    application = client.get(f"/api/applications/{closed_application.pk}/").json()
    assert application["approved_amount"] == f"{closed_application.approved_amount:.2f}"
    assert Decimal(application["disbursed_total"]) == closed_application.approved_amount
    budget_row = results(client.get("/api/budgets/"))[0]
    assert budget_row["remaining"].count(".") == 1 and len(budget_row["remaining"].split(".")[1]) == 2
    assert datetime.date.fromisoformat(results(client.get("/api/disbursements/"))[0]["paid_on"])


def test_an_auditor_is_told_why_in_their_language(auditor, application_in, people):
    application = application_in(S.SUBMITTED)
    client = token_client(auditor)
    chinese = client.post(f"/api/applications/{application.pk}/transitions/withdraw/", {}, format="json")
    assert chinese.json() == {"detail": "审计人员只有只读权限。"}
    english = client.post(
        f"/api/applications/{application.pk}/transitions/withdraw/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert english.json() == {"detail": "Auditors have read-only access."}


def test_a_url_under_api_that_matches_nothing_answers_404_in_json(applicant):
    for path in ("/api/applications/1.5/", "/api/no-such-thing/", "/api/applications/1/transitions/", "/api/a%0Ab/"):
        response = token_client(applicant).get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/json", path


def test_the_schema_generates_without_warnings(tmp_path, db):
    # --fail-on-warn: a serializer or filter that drf-spectacular cannot describe fails here, not in a client.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "/api/applications/{id}/transitions/{name}/" in (tmp_path / "schema.yaml").read_text()


def test_every_list_and_record_renders_in_the_browsable_api(closed_application, provincial_staff):
    client = session_client(provincial_staff)
    for prefix, _viewset, _basename in router.registry:
        listed = client.get(f"/api/{prefix}/", HTTP_ACCEPT="text/html")
        assert listed.status_code == 200, prefix
        assert listed["Content-Type"].startswith("text/html")
        first = results(client.get(f"/api/{prefix}/"))
        if first:
            assert client.get(f"/api/{prefix}/{first[0]['id']}/", HTTP_ACCEPT="text/html").status_code == 200, prefix


def test_a_session_write_without_the_csrf_token_is_refused(applicant, resident_entity):
    entity = resident_entity()
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(applicant)
    body = {"entity": entity.pk, "amount": "500000", "purpose": "p", "plan": "p"}
    refused = client.post("/api/applications/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert not Application.objects.exists()
    # A token is not a cookie a browser sends by itself, so token clients need no CSRF token.
    assert token_client(applicant).post("/api/applications/", body, format="json").status_code == 201


def test_applicants_read_nothing_of_the_investment_portfolio(applicant, auditor):
    from tests.factories import FundFactory, InvestmentFactory

    InvestmentFactory(fund=FundFactory(), failed=True)
    for prefix in ("funds", "investments", "investment-parties", "compliance-reports", "exemptions", "exemption-cases"):
        assert token_client(applicant).get(f"/api/{prefix}/").json()["count"] == 0, prefix
    assert token_client(auditor).get("/api/investments/").json()["count"] == 1


@pytest.mark.parametrize(("language", "detail"), [("zh-hans", "未找到。"), ("en", "Not found.")])
def test_a_record_that_is_not_there_answers_404_in_the_readers_language(provincial_staff, language, detail):
    # Django's get_object_or_404 message ("No Application matches the given query.") is English only.
    response = token_client(provincial_staff).get("/api/applications/999999/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 404
    assert response.json() == {"detail": detail}
