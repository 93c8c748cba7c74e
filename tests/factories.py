"""factory_boy factories shared by the tests of every app."""

import datetime
from decimal import Decimal

import factory

from teams.models import Achievement, Entity, Member, Registration, Residency
from tolerance.models import Fund, Investment, InvestmentParty
from valley.models import FocusArea, Institution, SubVenue, User, Valley


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


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    entity = factory.SubFactory(EntityFactory)
    name = factory.Sequence(lambda n: f"成员{n}")
    role = "研发工程师"
    email = factory.Sequence(lambda n: f"member{n}@example.cn")


class AchievementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Achievement

    entity = factory.SubFactory(EntityFactory)
    title = factory.Sequence(lambda n: f"成果{n}")
    kind = Achievement.Kind.PATENT
    stage = Achievement.Stage.LAB


class RegistrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Registration

    entity = factory.SubFactory(EntityFactory, kind=Entity.Kind.STARTUP)
    company_name = factory.Sequence(lambda n: f"测试科技有限公司{n}")
    uscc = factory.Sequence(lambda n: valid_uscc(f"91140105MA{n:07d}"))
    registered_on = datetime.date(2024, 3, 1)
    registered_capital = Decimal("2000000.00")
    paid_in_capital = Decimal("1200000.00")
    legal_representative = "王建国"


def valid_uscc(first17: str) -> str:
    """A code with a correct check character, computed here independently of teams.uscc."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    total = sum(alphabet.index(char) * pow(3, position, 31) for position, char in enumerate(first17))
    return first17 + alphabet[(31 - total % 31) % 31]


PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG_BYTES = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 32
# The start of a Windows executable ("MZ" header with the PE offset), as a renamed .exe would have.
EXE_BYTES = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"\x80\x00\x00\x00" + b"\x00" * 200
)


# --- tolerance ---------------------------------------------------------------------------------


def checklist_confirmer() -> User:
    user, _created = User.objects.get_or_create(email="confirmer@example.cn", defaults={"is_staff": True})
    return user


class StartupFactory(EntityFactory):
    kind = Entity.Kind.STARTUP
    name_zh = factory.Sequence(lambda n: f"测试科技有限公司{n}")
    name_en = factory.Sequence(lambda n: f"Test Technology Co. {n}")


class FundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Fund

    name_zh = factory.Sequence(lambda n: f"测试投资基金{n}")
    name_en = factory.Sequence(lambda n: f"Test Investment Fund {n}")
    manager = "山西省创新投资管理有限公司"
    entrusted_institution = "山西省科技成果转化基金管理中心"
    size = Decimal("500000000.00")


def _checklist_item(code: str, part: str):
    """A checklist field of InvestmentFactory, following its `checklist` parameter."""

    def value(investment):
        options = investment.checklist
        met = options.get(code, True) if isinstance(options, dict) else bool(options)
        if part == "met":
            return met
        if part == "evidence":
            return f"档案 {code}" if met else ""
        return checklist_confirmer() if met else None

    return factory.LazyAttribute(value)


class InvestmentFactory(factory.django.DjangoModelFactory):
    """An active investment with its five parties and a complete checklist.

    Traits: failed=True (liquidated, nothing recovered). Parameters: checklist=False for no standard
    met, checklist={"no_fraud": False} for one gap; parties=0 for no parties.
    """

    class Meta:
        model = Investment
        skip_postgeneration_save = True

    class Params:
        checklist = True
        failed = factory.Trait(
            state=Investment.State.FAILED,
            failure_kind=Investment.FailureKind.LIQUIDATED,
            failed_on=datetime.date(2025, 6, 30),
        )

    fund = factory.SubFactory(FundFactory)
    startup = factory.SubFactory(StartupFactory)
    invested_on = datetime.date(2024, 3, 1)
    principal = Decimal("1000000.00")
    stake = Decimal("10.00")
    decision_procedure = _checklist_item("decision_procedure", "met")
    decision_procedure_evidence = _checklist_item("decision_procedure", "evidence")
    decision_procedure_confirmed_by = _checklist_item("decision_procedure", "confirmed_by")
    due_diligence = _checklist_item("due_diligence", "met")
    due_diligence_evidence = _checklist_item("due_diligence", "evidence")
    due_diligence_confirmed_by = _checklist_item("due_diligence", "confirmed_by")
    risks_disclosed = _checklist_item("risks_disclosed", "met")
    risks_disclosed_evidence = _checklist_item("risks_disclosed", "evidence")
    risks_disclosed_confirmed_by = _checklist_item("risks_disclosed", "confirmed_by")
    no_conflict = _checklist_item("no_conflict", "met")
    no_conflict_evidence = _checklist_item("no_conflict", "evidence")
    no_conflict_confirmed_by = _checklist_item("no_conflict", "confirmed_by")
    no_fraud = _checklist_item("no_fraud", "met")
    no_fraud_evidence = _checklist_item("no_fraud", "evidence")
    no_fraud_confirmed_by = _checklist_item("no_fraud", "confirmed_by")

    @factory.post_generation
    def parties(obj, create, extracted, **kwargs):
        if not create or extracted == 0:
            return
        InvestmentParty.objects.bulk_create(
            InvestmentParty(investment=obj, role=role, organisation=f"{label} {obj.pk}", person="张三")
            for role, label in InvestmentParty.Role.choices
        )


def determined_case(investment, by):
    """The check's case for `investment`, taken to its determination (a superuser holds every role)."""
    from tolerance import cases
    from tolerance.models import STANDARDS, ExemptionCase

    case = ExemptionCase.objects.get(investment=investment)
    for code, _label in STANDARDS:
        cases.case_add_evidence(case=case, by=by, standard=code, note="纪要")
    cases.case_gather_evidence(case=case, by=by)
    from django.utils import timezone

    day = timezone.localdate()
    cases.case_give_opinion(case=case, by=by, text="建议免责", given_on=day)
    decisions = {party.pk: (True, "勤勉尽责") for party in investment.parties.all()}
    [first, *_rest] = cases.case_determine(
        case=case, by=by, decisions=decisions, meeting_date=day, document_number="晋投决〔2026〕1号"
    )
    return first
