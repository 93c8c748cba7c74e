"""Rules the database guards, tested with concurrent requests against PostgreSQL."""

import threading

import pytest
from django.db import connection

from teams import services
from teams.models import Member, Residency
from tests.factories import EntityFactory, SubVenueFactory


def _race(*calls):
    """Run the calls at the same moment in separate threads (each with its own connection)."""
    barrier = threading.Barrier(len(calls))
    results: list[str] = []

    def run(call):
        try:
            barrier.wait()
            call()
            results.append("ok")
        except services.TeamsError:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(results)


@pytest.mark.postgres
def test_two_staff_selecting_the_same_entity_at_once_leave_one_active_residency(transactional_db, provincial_staff):
    entity = EntityFactory()
    venues = [SubVenueFactory(), SubVenueFactory()]
    results = _race(
        *(
            lambda venue=venue: services.residency_select(entity=entity, sub_venue=venue, by=provincial_staff)
            for venue in venues
        )
    )
    assert results == ["ok", "refused"]
    assert Residency.objects.filter(entity=entity, status__in=Residency.ACTIVE_STATUSES).count() == 1


@pytest.mark.postgres
def test_two_leads_named_at_once_leave_one_lead(transactional_db, applicant):
    entity = EntityFactory(owner=applicant)
    results = _race(
        *(lambda name=name: services.member_add(entity=entity, by=applicant, name=name, is_lead=True) for name in "AB")
    )
    assert results == ["ok", "ok"]
    assert Member.objects.filter(entity=entity, is_lead=True).count() == 1
