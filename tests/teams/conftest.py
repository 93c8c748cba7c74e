"""Fixtures of the service system (teams.service_requests): the four lines, their staff, a resident entity."""

import datetime

import pytest

from teams import service_requests as services
from tests.factories import EntityFactory, ResidencyFactory, SubVenueFactory
from valley.core import calendar, roles
from valley.models import CalendarDay, ServiceLine

LINE_CODES = ["achievement-transformation", "government-affairs", "finance", "technology"]


@pytest.fixture
def calendar_2026_days(db):
    CalendarDay.objects.bulk_create(calendar.calendar_2026_days())


@pytest.fixture
def service_lines(db):
    return {
        code: ServiceLine.objects.create(code=code, name_zh=f"{code}服务", name_en=code, time_limit_working_days=5)
        for code in LINE_CODES
    }


@pytest.fixture
def finance_line(service_lines):
    return service_lines["finance"]


@pytest.fixture
def line_staff(make_user):
    """line_staff(line) makes a member of that line's staff."""

    def make(*lines, **fields):
        user = make_user(roles.SERVICE_LINE_STAFF, **fields)
        user.service_lines.set(lines)
        return user

    return make


@pytest.fixture
def finance_staff(line_staff, finance_line):
    return line_staff(finance_line, email="finance-staff@example.cn")


@pytest.fixture
def finance_lead(line_staff, finance_line):
    lead = line_staff(finance_line, email="finance-lead@example.cn")
    finance_line.lead = lead
    finance_line.save(update_fields=["lead"])
    return lead


@pytest.fixture
def resident(applicant):
    """Applicant A's entity, resident in a sub-venue."""
    entity = EntityFactory(owner=applicant, contact_email="team-a@example.cn")
    ResidencyFactory(entity=entity, sub_venue=SubVenueFactory(code="taiyuan"))
    return entity


@pytest.fixture
def other_resident(other_applicant):
    entity = EntityFactory(owner=other_applicant)
    ResidencyFactory(entity=entity, sub_venue=SubVenueFactory(code="taiyuan"))
    return entity


@pytest.fixture
def submit():
    """submit(entity, line, **fields): a request made by the entity's owner."""

    def make(entity, line, **fields):
        fields.setdefault("subject", "融资对接")
        fields.setdefault("details", "我们需要对接天使投资机构。")
        return services.service_request_submit(entity=entity, line=line, by=entity.owner, **fields)

    return make


@pytest.fixture
def resolved_request(submit, resident, finance_line, finance_staff):
    request = submit(resident, finance_line)
    services.service_request_accept(request=request, by=finance_staff, handler=finance_staff)
    return services.service_request_resolve(request=request, by=finance_staff, resolution="已对接三家机构。")


AT_NOON = datetime.time(12, 0)
