"""Property-based tests of the whole REST API against its own OpenAPI schema (schemathesis).

For each role that programs use (an applicant, a staff member, an auditor) and every operation in the
schema, schemathesis generates a bounded number of requests and sends them to the WSGI app in this
process (no server), inside the test's database transaction. Each answer must be no 5xx, carry a status
code the schema documents, and match the schema's content type and body schema."""

import os

import pytest
import schemathesis
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from funding.models import Application
from teams.models import Achievement, Member
from valley.core import roles
from valley.web.api_urls import router
from valley.wsgi import application as wsgi_app

# Small, so that CI takes seconds. For a deeper search:
#   VALLEY_SCHEMATHESIS_EXAMPLES=200 python3 dev.py test -k schemathesis
EXAMPLES_PER_OPERATION = int(os.environ.get("VALLEY_SCHEMATHESIS_EXAMPLES", "8"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
S = Application.State


@pytest.fixture(params=["applicant", "staff", "auditor"])
def api_user(request, make_user, application_in, people, auditor):
    """The signed-in user, with records around them: applications in several states, history, instalments."""
    for state in (S.DRAFT, S.SUBMITTED, S.EXPERT_REVIEW, S.AWAITING_DECISION, S.REGISTRATION, S.DISBURSEMENT):
        application = application_in(state)
    Member.objects.create(entity=application.entity, name="李明", is_lead=True)
    achievement = Achievement.objects.create(entity=application.entity, title="成果", kind=Achievement.Kind.PATENT)
    achievement.stage_changes.create(from_stage="lab", to_stage="pilot", changed_on=timezone.localdate())
    if request.param == "applicant":
        return people["applicant"]
    if request.param == "auditor":
        return auditor
    # One staff member holding every staff role, so that generated writes reach every service.
    staff = make_user(roles.PROVINCIAL_STAFF, email="all-roles@example.cn")
    from django.contrib.auth.models import Group

    staff.groups.add(*Group.objects.filter(name__in=roles.STAFF_ROLES))
    return staff


@pytest.fixture
def existing_ids(api_user):
    """A real record id per resource, so that generated requests also get past the 404."""
    ids = {}
    for prefix, viewset, _basename in router.registry:
        first = viewset.serializer_class.Meta.model.objects.order_by("pk").first()
        if first is not None:
            ids[prefix] = first.pk
    return ids


@pytest.fixture
def _keep_the_test_connection():
    """Django closes the database connection after each request it serves; the test client avoids that, and so
    must we, since the requests run inside this test's transaction."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(api_user, _keep_the_test_connection):
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app)


def strategy_for(operation, existing_ids):
    """Valid and invalid requests for the operation; with a path id, half of them name a record that exists."""
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
    resource = operation.path.strip("/").split("/")[1]
    if "{id}" in operation.path and resource in existing_ids:
        real = {"id": existing_ids[resource]}
        strategies += [operation.as_strategy(generation_mode=mode, path_parameters=real) for mode in modes]
    return st.one_of(strategies)


# The schemathesis pytest plugin (schema.parametrize) does not run under pytest 9, so each operation gets its
# own Hypothesis test here; the checks and the data generation are schemathesis's own.
def test_the_api_keeps_its_schema_for_every_role(api_user, api_schema, existing_ids):
    headers = {"Authorization": f"Token {Token.objects.get_or_create(user=api_user)[0].key}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 2 * len(router.registry) + 6
    failures = []
    sent = []
    for operation in operations:

        @given(case=strategy_for(operation, existing_ids))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            sent.append(operation.label)
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as error:  # noqa: BLE001 - collect every failing operation, then report them together
            failures.append(f"{operation.label}: {error}")
    assert not failures, "\n\n".join(failures)
    assert len(set(sent)) == len(operations)
