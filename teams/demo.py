"""Demo data for the teams app: the 68 teams and startups of the Taiyuan sub-venue.

Names are built from (institution, topic) pairs so they are plausible, bilingual and stable:
running the seed again finds the same rows by their English name.
"""

import datetime
from decimal import Decimal

from teams import service_demo
from teams.models import Achievement, AchievementStageChange, Entity, Member, Registration, Residency
from teams.uscc import check_character
from valley.models import FocusArea, Institution, SubVenue, User

TAIYUAN_ENTITY_COUNT = 68

# (focus area code, Chinese topic, English topic)
TOPICS = [
    ("new-materials", "煤基碳纤维", "Coal-based Carbon Fibre"),
    ("energy", "煤制清洁燃料", "Clean Coal-derived Fuels"),
    ("new-materials", "石墨烯导热膜", "Graphene Thermal Films"),
    ("energy", "钠离子电池", "Sodium-ion Batteries"),
    ("semiconductors", "碳化硅功率器件", "Silicon Carbide Power Devices"),
    ("advanced-manufacturing", "智能矿山装备", "Smart Mining Equipment"),
    ("energy", "氢能储运", "Hydrogen Storage and Transport"),
    ("new-materials", "高性能镁合金", "High-performance Magnesium Alloys"),
    ("semiconductors", "量子点发光材料", "Quantum-dot Light Emitters"),
    ("advanced-manufacturing", "工业机器人视觉", "Industrial Robot Vision"),
    ("energy", "钙钛矿光伏", "Perovskite Photovoltaics"),
    ("new-materials", "生物可降解塑料", "Biodegradable Plastics"),
    ("semiconductors", "光电探测芯片", "Photodetector Chips"),
    ("advanced-manufacturing", "精密轴承", "Precision Bearings"),
]

LEGAL_REPRESENTATIVES = ["王建国", "李海燕", "张志强", "刘芳", "陈晓东", "杨帆", "赵磊", "黄静"]

FAMILY_NAMES = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭"]
GIVEN_NAMES = ["伟", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "霞", "平", "刚"]
MEMBER_ROLES = [("首席科学家", True), ("研发工程师", False), ("中试负责人", False), ("市场与运营", False)]

# (kind, Chinese title pattern, English title pattern)
ACHIEVEMENT_KINDS = [
    (Achievement.Kind.PATENT, "{topic}制备方法发明专利", "Invention patent: preparing {topic}"),
    (Achievement.Kind.SOFTWARE_COPYRIGHT, "{topic}工艺控制软件", "Process-control software for {topic}"),
    (Achievement.Kind.KNOW_HOW, "{topic}中试工艺技术秘密", "Pilot-scale know-how for {topic}"),
]
STAGES = list(Achievement.Stage)


def demo_uscc(index: int) -> str:
    """A valid Unified Social Credit Code for demo startup number `index` (Taiyuan region)."""
    first17 = f"91140105MA{index:06d}X"
    return first17 + check_character(first17)


def seed(log) -> None:
    taiyuan = SubVenue.objects.get(code="taiyuan")
    institutions = list(Institution.objects.order_by("pk"))[:5]
    areas = {area.code: area for area in FocusArea.objects.all()}
    applicant = User.objects.filter(email__startswith="applicant@").first()
    opened = taiyuan.opened_on or datetime.date(2023, 12, 22)

    for index in range(TAIYUAN_ENTITY_COUNT):
        institution = institutions[index % len(institutions)]
        area_code, topic_zh, topic_en = TOPICS[(index // len(institutions)) % len(TOPICS)]
        is_startup = index % 5 in (1, 3)  # 27 startups, 41 research teams
        suffix_zh, suffix_en = ("科技有限公司", "Technology Co., Ltd.") if is_startup else ("研究团队", "Research Team")
        name_en = f"{institution.short_name} {topic_en} {suffix_en}"
        fields = {
            "name_zh": f"{institution.name_zh}{topic_zh}{suffix_zh}",
            "institution": institution,
            "focus_area": areas[area_code],
            "summary": f"{topic_zh}方向的成果转化 / Transforming research in {topic_en.lower()}.",
            "owner": applicant if index == 0 else None,
        }
        # The kind only when created: a team the fund registered as a company stays a startup.
        kind = Entity.Kind.STARTUP if is_startup else Entity.Kind.RESEARCH_TEAM
        entity, _created = Entity.objects.update_or_create(
            name_en=name_en, defaults=fields, create_defaults={**fields, "kind": kind}
        )
        selected_on = opened + datetime.timedelta(days=index * 3)
        Residency.objects.update_or_create(
            entity=entity,
            sub_venue=taiyuan,
            defaults={
                "status": Residency.Status.ENTERED,
                "selected_on": selected_on,
                "entered_on": selected_on + datetime.timedelta(days=14),
            },
        )
        if is_startup:
            capital = Decimal(1_000_000 + (index % 7) * 500_000)
            # get_or_create: the fund's registration verification may have updated it since.
            Registration.objects.get_or_create(
                entity=entity,
                defaults={
                    "company_name": entity.name_zh,
                    "uscc": demo_uscc(index),
                    "registered_on": selected_on + datetime.timedelta(days=30),
                    "registered_capital": capital,
                    "paid_in_capital": capital * Decimal("0.6"),
                    "legal_representative": LEGAL_REPRESENTATIVES[index % len(LEGAL_REPRESENTATIVES)],
                },
            )
        seed_members(entity, index)
        seed_achievements(entity, index, topic_zh, topic_en, selected_on)
    seed_residency_requests(taiyuan, institutions, areas)
    log(
        f"teams: {Entity.objects.count()} teams and startups, "
        f"{Residency.objects.filter(sub_venue=taiyuan).count()} residencies in Taiyuan, "
        f"{Member.objects.count()} members, {Achievement.objects.count()} achievements"
    )
    service_demo.seed(log)


def seed_members(entity: Entity, index: int) -> None:
    """Two to four members per entity; the first is the lead."""
    for position, (role, is_lead) in enumerate(MEMBER_ROLES[: 2 + index % 3]):
        family = FAMILY_NAMES[(index + position * 5) % len(FAMILY_NAMES)]
        given = GIVEN_NAMES[(index * 3 + position) % len(GIVEN_NAMES)]
        Member.objects.update_or_create(
            entity=entity,
            role=role,
            defaults={
                "name": f"{family}{given}",
                "is_lead": is_lead,
                "email": f"member{index}-{position}@demo.valley.example.cn",
                "phone": f"0351-{7000000 + index * 10 + position}",
            },
        )


def seed_achievements(entity: Entity, index: int, topic_zh: str, topic_en: str, since: datetime.date) -> None:
    """One to three achievements per entity, spread over every stage, each with its dated history."""
    for position, (kind, title_zh, title_en) in enumerate(ACHIEVEMENT_KINDS[: 1 + index % 3]):
        stage_index = (index + position) % len(STAGES)
        achievement, _created = Achievement.objects.update_or_create(
            entity=entity,
            title=title_zh.format(topic=topic_zh),
            defaults={
                "kind": kind,
                "stage": STAGES[stage_index],
                "description": title_en.format(topic=topic_en.lower()),
            },
        )
        previous = ""
        for step, stage in enumerate(STAGES[: stage_index + 1]):
            AchievementStageChange.objects.update_or_create(
                achievement=achievement,
                to_stage=stage,
                defaults={"from_stage": previous, "changed_on": since + datetime.timedelta(days=60 * step)},
            )
            previous = stage


# Three teams of the second demo applicant that asked to enter Taiyuan: one waits for a decision, one was
# selected (its residency starts: selected, not yet entered), one was declined with a reason.
# (status, Chinese topic, English topic, focus area, reason given by staff)
RESIDENCY_REQUESTS = [
    ("submitted", "固态电解质", "Solid-state Electrolytes", "energy", ""),
    (
        "selected",
        "煤矸石综合利用",
        "Coal Gangue Recycling",
        "new-materials",
        "符合太原分园新材料方向，请于两周内办理入驻。",
    ),
    (
        "declined",
        "智能网联汽车测试",
        "Connected-vehicle Testing",
        "advanced-manufacturing",
        "太原分园暂无满足道路测试要求的场地，建议关注大同分园开园。",
    ),
]


def seed_residency_requests(taiyuan: SubVenue, institutions: list, areas: dict) -> None:
    """Through the services, as an applicant and staff would: each request with its history, audit and mail."""
    from teams import residency_requests

    applicant = User.objects.filter(email__startswith="applicant2@").first()
    staff = User.objects.filter(email__startswith="staff@").first()
    if applicant is None or staff is None:
        return
    for index, (status, topic_zh, topic_en, area, reason) in enumerate(RESIDENCY_REQUESTS):
        institution = institutions[index % len(institutions)]
        entity, _created = Entity.objects.get_or_create(
            name_en=f"{institution.short_name} {topic_en} Research Team",
            defaults={
                "name_zh": f"{institution.name_zh}{topic_zh}研究团队",
                "institution": institution,
                "focus_area": areas[area],
                "summary": f"{topic_zh}方向的中试验证 / Pilot-scale validation in {topic_en.lower()}.",
                "owner": applicant,
                "contact_email": applicant.email,
            },
        )
        seed_members(entity, TAIYUAN_ENTITY_COUNT + index)
        if entity.residency_requests.exists():
            continue
        request = residency_requests.residency_request_submit(
            entity=entity,
            by=applicant,
            sub_venue=taiyuan,
            reason=f"团队的{topic_zh}成果已完成实验室验证，需要太原分园的中试条件。",
            needs=["office", "pilot"],
            needs_detail="约200平方米中试场地，三相电。",
        )
        if status == "selected":
            residency_requests.residency_request_select(request=request, by=staff, note=reason)
        elif status == "declined":
            residency_requests.residency_request_decline(request=request, by=staff, reason=reason)
