"""Teams and startups through the REST API: who sees which entity, and the list filters."""

import datetime

from teams.models import Achievement, Entity, Member, Registration, Residency
from tests.api_support import results, token_client
from tests.factories import ResidencyFactory, SubVenueFactory
from valley.core import roles


def test_an_applicant_reads_only_their_own_entities_and_their_records(applicant, other_applicant, db):
    mine = ResidencyFactory(entity__owner=applicant).entity
    theirs = ResidencyFactory(entity__owner=other_applicant).entity
    Member.objects.create(entity=theirs, name="张三", phone="13900000000", is_lead=True)
    Achievement.objects.create(entity=theirs, title="保密成果", kind=Achievement.Kind.KNOW_HOW)
    client = token_client(applicant)

    assert [e["id"] for e in results(client.get("/api/entities/"))] == [mine.pk]
    assert results(client.get("/api/members/")) == []
    assert results(client.get("/api/achievements/")) == []
    assert [r["entity"] for r in results(client.get("/api/residencies/"))] == [mine.pk]
    assert client.get(f"/api/entities/{theirs.pk}/").status_code == 404
    # Filtering by someone else's entity finds nothing, rather than telling that it exists.
    assert results(client.get("/api/members/", {"entity": theirs.pk})) == []


def test_the_applicant_sees_their_members_contacts_but_not_who_decided_their_residency(applicant, provincial_staff):
    residency = ResidencyFactory(entity__owner=applicant, decided_by=provincial_staff, note="内部备注")
    Member.objects.create(entity=residency.entity, name="李明", email="li@example.cn", is_lead=True)
    own = token_client(applicant)
    assert results(own.get("/api/members/"))[0]["email"] == "li@example.cn"
    row = results(own.get("/api/residencies/"))[0]
    assert (row["decided_by"], row["note"]) == (None, None)
    row = results(token_client(provincial_staff).get("/api/residencies/"))[0]
    assert (row["decided_by"], row["note"]) == (provincial_staff.email, "内部备注")


def test_entity_filters_by_sub_venue_kind_and_creation_date(auditor, db):
    taiyuan, datong = SubVenueFactory(code="taiyuan-x"), SubVenueFactory(code="datong-x")
    in_taiyuan = ResidencyFactory(sub_venue=taiyuan).entity
    startup = ResidencyFactory(sub_venue=datong, entity__kind=Entity.Kind.STARTUP).entity
    Residency.objects.create(
        entity=startup,
        sub_venue=taiyuan,
        status=Residency.Status.EXITED,
        selected_on=datetime.date(2023, 1, 1),
        ended_on=datetime.date(2023, 6, 1),
    )
    client = token_client(auditor)

    by_venue = {e["id"] for e in results(client.get("/api/entities/", {"sub_venue": taiyuan.pk}))}
    assert by_venue == {in_taiyuan.pk, startup.pk}  # listed once each, though the startup stayed twice
    assert len(results(client.get("/api/entities/", {"sub_venue": taiyuan.pk}))) == 2
    assert [e["id"] for e in results(client.get("/api/entities/", {"kind": "startup"}))] == [startup.pk]
    today = datetime.date.today().isoformat()
    assert len(results(client.get("/api/entities/", {"created_at_after": today}))) == 2
    assert results(client.get("/api/entities/", {"created_at_before": "2020-01-01"})) == []
    refused = client.get("/api/entities/", {"created_at_after": "0001-01-01"}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400
    assert "Enter a date between 1900-01-01 and 9998-12-31." in str(refused.json())
    assert client.get("/api/entities/", {"sub_venue": 2**70}).status_code == 400


def test_an_operator_reads_entities_of_their_sub_venues_only(make_user, db):
    operator = make_user(roles.SUB_VENUE_OPERATOR)
    taiyuan = SubVenueFactory(code="taiyuan-y")
    operator.sub_venues.add(taiyuan)
    ours = ResidencyFactory(sub_venue=taiyuan).entity
    ResidencyFactory()  # another sub-venue's entity
    Registration.objects.create(
        entity=ours,
        company_name="太原新材料有限公司",
        uscc="91140100MA0L5XXX1Q",
        registered_on=datetime.date(2025, 3, 1),
        registered_capital=2_000_000,
        paid_in_capital=1_000_000,
        legal_representative="王建国",
    )
    client = token_client(operator)
    assert [e["id"] for e in results(client.get("/api/entities/"))] == [ours.pk]
    registration = results(client.get("/api/registrations/"))[0]
    assert (registration["registered_capital"], registration["paid_in_capital"]) == ("2000000.00", "1000000.00")
