"""The teams' part of the province generator (valley.ops.generator): teams and startups, each entered in a
sub-venue, the startups' company registrations, and the entities' service requests (teams.service_generate)."""

import datetime
from decimal import Decimal

from teams import service_generate
from teams.models import Entity, Registration, Residency
from teams.uscc import check_character
from valley.ops.generator import Province


def generate(province: Province) -> None:
    """Reads "venues", "institutions", "areas", "applicants" (and what service_generate reads); leaves
    "entity_ids", "startup_ids", "venue_of" (entity id → sub-venue id), "owner_of" (entity id → owner's user
    id) and "service_request_count"."""
    made = province.made
    venues, institutions, areas, applicants = made["venues"], made["institutions"], made["areas"], made["applicants"]
    n = province.sizes["entities"]
    province.log(f"{n:,} teams and startups with their residencies")
    rnd = province.random
    entities = Entity.objects.bulk_create(
        (
            Entity(
                name_zh=f"晋创团队{i:05d}",
                name_en=f"Valley Team {i:05d}",
                kind=Entity.Kind.STARTUP if i % 2 else Entity.Kind.RESEARCH_TEAM,
                institution=institutions[i % len(institutions)],
                focus_area=areas[i % len(areas)],
                summary="中试放大与成果转化",
                owner=applicants[i % len(applicants)],
            )
            for i in range(n)
        ),
        batch_size=5000,
    )
    made["entity_ids"] = [entity.pk for entity in entities]
    made["startup_ids"] = startup_ids = [entity.pk for entity in entities if entity.kind == Entity.Kind.STARTUP]
    made["venue_of"] = venue_of = {}
    made["owner_of"] = {entity.pk: entity.owner_id for entity in entities}
    residencies = []
    for i, entity in enumerate(entities):
        venue = venues[i % len(venues)]
        venue_of[entity.pk] = venue.pk
        selected = datetime.date(2024, 1, 1) + datetime.timedelta(days=rnd.randrange(300))
        residencies.append(
            Residency(
                entity=entity,
                sub_venue=venue,
                status=Residency.Status.ENTERED,
                selected_on=selected,
                entered_on=selected + datetime.timedelta(days=14),
            )
        )
    Residency.objects.bulk_create(residencies, batch_size=5000)
    registrations = []
    for number, entity_id in enumerate(startup_ids):
        body = f"91140100{number:09d}"
        registrations.append(
            Registration(
                entity_id=entity_id,
                company_name=f"晋创科技有限公司{number:05d}",
                uscc=body + check_character(body),
                registered_on=datetime.date(2024, 6, 1),
                registered_capital=Decimal("5000000.00"),
                paid_in_capital=Decimal("4000000.00"),
                legal_representative="张三",
            )
        )
    Registration.objects.bulk_create(registrations, batch_size=5000)
    service_generate.generate(province)
