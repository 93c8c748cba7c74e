"""Demo data for the valley app: the valley, sub-venues, institutions, focus areas, services,
targets and one demo user per role. Idempotent: every row is keyed by a natural key."""

import base64
import datetime

from django.contrib.auth.models import Group

from valley.core import calendar, roles
from valley.models import CalendarDay, FocusArea, Guide, Institution, ServiceLine, SubVenue, Target, User, Valley
from valley.privacy import services as privacy

DEMO_PASSWORD = "valley-demo-2026"  # printed by the run command; demo databases only
DEMO_EMAIL_DOMAIN = "demo.valley.example.cn"
# Every demo staff member and auditor has a TOTP device with this one secret (base32, as an authenticator
# app takes it); `manage.py demo_otp EMAIL` prints the current code. Demo databases only.
DEMO_TOTP_SECRET = "VALLEYDEMOJCGTWENTYTWENTYSIXJCGV"

SUB_VENUES = [
    # code, zh, en, city zh, city en, host, opened, status
    (
        "taiyuan",
        "晋创谷·太原",
        "Shanxi Innovation Valley·Taiyuan",
        "太原",
        "Taiyuan",
        "中国科学院大学太原能源材料学院",
        datetime.date(2023, 12, 22),
        SubVenue.Status.OPEN,
    ),
    ("datong", "晋创谷·大同", "Shanxi Innovation Valley·Datong", "大同", "Datong", "", None, SubVenue.Status.PLANNED),
    (
        "xinzhou",
        "晋创谷·忻州",
        "Shanxi Innovation Valley·Xinzhou",
        "忻州",
        "Xinzhou",
        "",
        None,
        SubVenue.Status.PLANNED,
    ),
    (
        "jincheng",
        "晋创谷·晋城",
        "Shanxi Innovation Valley·Jincheng",
        "晋城",
        "Jincheng",
        "",
        None,
        SubVenue.Status.PLANNED,
    ),
    (
        "lvliang",
        "晋创谷·吕梁",
        "Shanxi Innovation Valley·Lüliang",
        "吕梁",
        "Lüliang",
        "",
        None,
        SubVenue.Status.PLANNED,
    ),
]

INSTITUTIONS = [
    # short, zh, en, kind
    (
        "ICC-CAS",
        "中国科学院山西煤炭化学研究所",
        "Institute of Coal Chemistry, Chinese Academy of Sciences",
        Institution.Kind.RESEARCH_INSTITUTE,
    ),
    ("SXU", "山西大学", "Shanxi University", Institution.Kind.UNIVERSITY),
    ("TYUT", "太原理工大学", "Taiyuan University of Technology", Institution.Kind.UNIVERSITY),
    ("NUC", "中北大学", "North University of China", Institution.Kind.UNIVERSITY),
    ("TYUST", "太原科技大学", "Taiyuan University of Science and Technology", Institution.Kind.UNIVERSITY),
]

FOCUS_AREAS = [
    ("advanced-manufacturing", "先进制造", "Advanced manufacturing"),
    ("energy", "能源与新能源", "Energy and new energy"),
    ("semiconductors", "半导体", "Semiconductors"),
    ("new-materials", "新材料", "New materials"),
]

SERVICE_LINES = [
    (
        "achievement-transformation",
        "成果转化服务",
        "Achievement transformation",
        "从实验室成果到中试、孵化的全过程支持。",
        "Support from laboratory result through pilot scale to incubation.",
    ),
    (
        "government-affairs",
        "政务服务",
        "Government affairs",
        "工商注册等手续由政府部门代办，企业无需自己跑流程。",
        "Government departments handle company registration and other procedures on the entity's behalf.",
    ),
    (
        "finance",
        "金融服务",
        "Finance",
        "创业启动资金、股权投资与容错机制。",
        "Start-up fund, equity investment and the failure-tolerance mechanism.",
    ),
    (
        "technology",
        "科技服务",
        "Technology",
        "中试平台、检测与技术支持。",
        "Pilot-scale platforms, testing and technical support.",
    ),
]

TARGETS = [
    (
        "achievements",
        "转化科技成果",
        "Scientific and technological achievements transformed",
        1000,
        Target.Measure.ACHIEVEMENTS_TRANSFORMED,
        0,
        1,
    ),
    (
        "enterprises",
        "培育科技型企业",
        "Science and technology enterprises cultivated",
        1000,
        Target.Measure.ENTERPRISES_CULTIVATED,
        0,
        2,
    ),
    ("consortia", "创新联合体", "Innovation consortia", 30, Target.Measure.MANUAL, 8, 3),
    ("platforms", "创业服务平台", "Start-up service platforms", 30, Target.Measure.MANUAL, 11, 4),
]

# (role, local part, given name, family name): shown in Chinese order, 李文静 (valley.models.User.get_full_name).
DEMO_USERS = [
    (roles.PROVINCIAL_STAFF, "staff", "文静", "李"),
    (roles.SUB_VENUE_OPERATOR, "operator", "鹏", "赵"),
    (roles.REVIEWER, "reviewer", "丽", "孙"),
    (roles.APPROVER, "approver", "建国", "周"),
    (roles.REGISTRATION_OFFICER, "registration", "敏", "吴"),
    (roles.FINANCE_OFFICER, "finance", "洁", "郑"),
    (roles.PORTFOLIO_MANAGER, "portfolio", "磊", "王"),
    (roles.EXEMPTION_SUPERVISOR, "supervisor", "涛", "冯"),
    (roles.EXEMPTION_DECISION_MAKER, "decisionbody", "志强", "陈"),
    (roles.SERVICE_LINE_STAFF, "servicefinance", "晓燕", "钱"),
    (roles.SERVICE_LINE_STAFF, "servicetech", "凯", "何"),
    (roles.AUDITOR, "auditor", "红", "褚"),
    (roles.APPLICANT, "applicant", "伟", "张"),
    (roles.APPLICANT, "applicant2", "洋", "刘"),
]


# The service lines each demo service-line staff member works (and leads).
SERVICE_STAFF_LINES = {
    "servicefinance": ["finance", "government-affairs"],
    "servicetech": ["technology", "achievement-transformation"],
}


def demo_email(local_part: str) -> str:
    return f"{local_part}@{DEMO_EMAIL_DOMAIN}"


def seed(log) -> None:
    valley, _ = Valley.objects.update_or_create(
        pk=1,
        defaults={
            "name_zh": "晋创谷",
            "name_en": "Shanxi Innovation Valley",
            "opened_on": datetime.date(2023, 12, 22),
            "launch_venue_zh": "中国科学院大学太原能源材料学院",
            "launch_venue_en": "Taiyuan College of Energy and Materials, Chinese Academy of Sciences",
            "description_zh": "山西省科技成果转化枢纽：把高校和科研院所的成果变成企业。",
            "description_en": "Shanxi's hub for turning university and institute research into companies.",
        },
    )
    for code, zh, en, city_zh, city_en, host, opened, status in SUB_VENUES:
        SubVenue.objects.update_or_create(
            code=code,
            defaults={
                "valley": valley,
                "name_zh": zh,
                "name_en": en,
                "city_zh": city_zh,
                "city_en": city_en,
                "host_institution": host,
                "opened_on": opened,
                "status": status,
            },
        )
    for short, zh, en, kind in INSTITUTIONS:
        Institution.objects.update_or_create(
            name_en=en,
            defaults={"name_zh": zh, "short_name": short, "kind": kind, "city_zh": "太原", "city_en": "Taiyuan"},
        )
    for code, zh, en in FOCUS_AREAS:
        FocusArea.objects.update_or_create(code=code, defaults={"name_zh": zh, "name_en": en})
    for code, zh, en, desc_zh, desc_en in SERVICE_LINES:
        line, _created = ServiceLine.objects.update_or_create(
            code=code, defaults={"name_zh": zh, "name_en": en, "description_zh": desc_zh, "description_en": desc_en}
        )
        # The guides are made after every migrate (valley.apps); each service line's own is linked to it here.
        Guide.objects.filter(service=code, service_line__isnull=True).update(service_line=line)
    for code, zh, en, value, measure, recorded, order in TARGETS:
        Target.objects.update_or_create(
            code=code,
            defaults={
                "name_zh": zh,
                "name_en": en,
                "target_value": value,
                "measure": measure,
                "recorded_value": recorded,
                "sort_order": order,
            },
        )
    # The real 2026 working-day calendar (holidays and make-up working days), as staff would enter it.
    known = set(CalendarDay.objects.values_list("date", flat=True))
    CalendarDay.objects.bulk_create([day for day in calendar.calendar_2026_days() if day.date not in known])
    taiyuan = SubVenue.objects.get(code="taiyuan")
    for role_code, local, first, last in DEMO_USERS:
        user, created = User.objects.get_or_create(
            email=demo_email(local),
            defaults={"first_name": first, "last_name": last, "is_staff": roles.ROLES[role_code].is_staff},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.email_confirmed_at = user.date_joined
            user.save()
        user.groups.set([Group.objects.get(name=role_code)])
        # Every demo person has accepted the privacy notice in force, as they would have at sign-up.
        if (notice := privacy.notice_current()) is not None:
            privacy.consent_record(user=user, notice=notice)
        if role_code == roles.SUB_VENUE_OPERATOR:
            user.sub_venues.set([taiyuan])
        if local in SERVICE_STAFF_LINES:  # each leads the lines they work
            lines = list(ServiceLine.objects.filter(code__in=SERVICE_STAFF_LINES[local]))
            user.service_lines.set(lines)
            ServiceLine.objects.filter(pk__in=[line.pk for line in lines]).update(lead=user)
        if roles.ROLES[role_code].is_staff:
            seed_demo_device(user)
    log(
        f"valley: {SubVenue.objects.count()} sub-venues, {Institution.objects.count()} institutions, "
        f"{len(DEMO_USERS)} demo users, {CalendarDay.objects.count()} calendar days"
    )


def demo_totp_key_hex() -> str:
    return base64.b32decode(DEMO_TOTP_SECRET).hex()


def seed_demo_device(user):
    """One confirmed TOTP device with the demo secret; a reseed puts the secret back if it was changed."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, name="demo").first()
    if device is None:
        return TOTPDevice.objects.create(user=user, name="demo", key=demo_totp_key_hex(), confirmed=True)
    if device.key != demo_totp_key_hex() or not device.confirmed:
        device.key, device.confirmed = demo_totp_key_hex(), True
        device.save(update_fields=["key", "confirmed"])
    return device


def current_code(key_hex: str, at: float | None = None) -> str:
    """The six-digit TOTP code of a key right now, or at the Unix time `at` (RFC 6238, as the
    authenticator apps compute it: 30-second steps from 0)."""
    from django_otp.oath import TOTP

    code = TOTP(bytes.fromhex(key_hex))
    if at is not None:
        code.time = at
    return f"{code.token():06d}"


def demo_logins() -> list[tuple[str, str, str]]:
    """(role label, e-mail, password) for the run command to print."""
    return [(str(roles.ROLES[role].label), demo_email(local), DEMO_PASSWORD) for role, local, *_ in DEMO_USERS]
