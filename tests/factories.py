"""factory_boy factories shared by the tests of every app."""

import datetime

import factory

from teams.models import Entity, Residency
from valley.models import FocusArea, Institution, SubVenue, Valley


class ValleyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Valley
        django_get_or_create = ["name_en"]

    name_zh = "晋创谷"
    name_en = "Shanxi Innovation Valley"
    opened_on = datetime.date(2023, 12, 22)


class SubVenueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SubVenue
        django_get_or_create = ["code"]

    valley = factory.SubFactory(ValleyFactory)
    code = factory.Sequence(lambda n: f"venue-{n}")
    name_zh = factory.Sequence(lambda n: f"分园{n}")
    name_en = factory.Sequence(lambda n: f"Sub-venue {n}")
    city_zh = "太原"
    city_en = "Taiyuan"
    status = SubVenue.Status.OPEN
    opened_on = datetime.date(2023, 12, 22)


class InstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Institution
        django_get_or_create = ["name_en"]

    name_zh = factory.Sequence(lambda n: f"研究院{n}")
    name_en = factory.Sequence(lambda n: f"Institute {n}")
    kind = Institution.Kind.RESEARCH_INSTITUTE


class FocusAreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FocusArea
        django_get_or_create = ["code"]

    code = "new-materials"
    name_zh = "新材料"
    name_en = "New materials"


class EntityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Entity

    kind = Entity.Kind.RESEARCH_TEAM
    name_zh = factory.Sequence(lambda n: f"测试团队{n}")
    name_en = factory.Sequence(lambda n: f"Test Team {n}")
    institution = factory.SubFactory(InstitutionFactory)
    focus_area = factory.SubFactory(FocusAreaFactory)


class ResidencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Residency

    entity = factory.SubFactory(EntityFactory)
    sub_venue = factory.SubFactory(SubVenueFactory)
    status = Residency.Status.ENTERED
    selected_on = datetime.date(2024, 1, 10)
    entered_on = datetime.date(2024, 1, 20)
