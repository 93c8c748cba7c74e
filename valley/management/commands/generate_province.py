"""Fill PostgreSQL with a province-scale valley, reproducibly from a seed, for benchmarks and load tests.

    python manage.py generate_province                 # full size (see SIZES), a few minutes
    python manage.py generate_province --size small   # a few thousand rows, for tests
    python manage.py generate_province --replace      # empty the portal's tables first

Rows go in through COPY (psycopg2 copy_expert, streamed in batches) or bulk_create: no model signals,
so the audit log is not fed by the generator's writes; instead it writes its own audit entries, with
hashes chained by valley.audit.entry_digest, and moves the chain head to the last one, so
`verify_audit_log` passes. Every database rule holds for the generated rows (constraints stay on):
one open application and one grant per entity, granted applications reserve from their sub-venue's
budget, which is never overspent, and instalments stay within the approved amount.
"""

import datetime
import io
import random
import time
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from valley.audit import GENESIS, canonical_json, entry_digest, format_at, seal
from valley.audit.chain import lock_head
from valley.core import roles

SIZES = {
    "full": {
        "sub_venues": 10,
        "entities": 20_000,
        "applicants": 5_000,
        "applications": 100_000,
        "history": 1_000_000,
        "funds": 100,
        "investments": 1_000_000,
        "audit": 2_000_000,
    },
    "small": {
        "sub_venues": 3,
        "entities": 200,
        "applicants": 50,
        "applications": 1_000,
        "history": 10_000,
        "funds": 4,
        "investments": 1_000,
        "audit": 5_000,
    },
}
BATCH = 50_000
PASSWORD = "valley-scale-2026"  # every generated login; benchmark databases only
EMAIL_DOMAIN = "scale.valley.example.cn"
BASE = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
YEARS = (2024, 2025)
POLICY = (Decimal("300000.00"), Decimal("1000000.00"), Decimal("0.500"))

# Ended states that are not grants, open states before a decision, and grants that are still open.
ENDED = ("rejected", "withdrawn")
OPEN_BEFORE_DECISION = ("draft", "submitted", "formal_review", "expert_review", "awaiting_decision", "returned")
OPEN_GRANTED = ("public_notice", "registration", "disbursement")
PATH = {  # the transitions that lead to each state, as (action, from, to)
    "draft": [],
    "submitted": [("submit", "draft", "submitted")],
    "formal_review": [("submit", "draft", "submitted"), ("start_formal_review", "submitted", "formal_review")],
}
PATH["expert_review"] = [*PATH["formal_review"], ("pass_formal_review", "formal_review", "expert_review")]
PATH["awaiting_decision"] = [
    *PATH["expert_review"],
    ("complete_expert_review", "expert_review", "awaiting_decision"),
]
PATH["returned"] = [*PATH["formal_review"], ("return_for_changes", "formal_review", "returned")]
PATH["rejected"] = [*PATH["awaiting_decision"], ("reject", "awaiting_decision", "rejected")]
PATH["withdrawn"] = [*PATH["submitted"], ("withdraw", "submitted", "withdrawn")]
PATH["public_notice"] = [*PATH["awaiting_decision"], ("approve", "awaiting_decision", "public_notice")]
PATH["registration"] = [*PATH["public_notice"], ("end_notice", "public_notice", "registration")]
PATH["disbursement"] = [*PATH["registration"], ("verify_registration", "registration", "disbursement")]
PATH["closed"] = [
    *PATH["disbursement"],
    ("disbursement.recorded", "disbursement", "disbursement"),
    ("close", "disbursement", "closed"),
]
# Rounds of "returned for changes, submitted again" that pad a history to its share of the rows.
LOOP = [
    ("return_for_changes", "formal_review", "returned"),
    ("submit", "returned", "submitted"),
    ("start_formal_review", "submitted", "formal_review"),
]

PORTAL_TABLES = [
    "valley_auditentry",
    "tolerance_exemptiondetermination",
    "tolerance_compliancereport",
    "tolerance_investmentparty",
    "tolerance_investmentdocument",
    "tolerance_investment",
    "tolerance_fund",
    "funding_disbursement",
    "funding_expertreview",
    "funding_applicationevent",
    "funding_application_documents",
    "funding_application",
    "funding_subvenuebudget",
    "teams_document",
    "teams_registration",
    "teams_achievementstagechange",
    "teams_achievement",
    "teams_residency",
    "teams_member",
    "teams_entity",
    "valley_user_sub_venues",
    "valley_target",
    "valley_subvenue",
    "valley_valley",
    "valley_focusarea",
    "valley_institution",
]


def _text(value) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _action_code(action: str) -> str:
    """The history's action code, as funding.services writes it."""
    return f"funding.{action}" if "." in action else f"funding.application.{action}"


class Command(BaseCommand):
    help = "Fill the database with a province-scale valley (PostgreSQL), reproducibly from a seed."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=sorted(SIZES), default="full")
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--replace", action="store_true", help="empty the portal's tables first")

    @staticmethod
    def rows_pointing_at_users() -> list[tuple[str, str]]:
        """(table, column) of every foreign key to the user table outside PORTAL_TABLES (emptied anyway)."""
        from django.apps import apps

        user = apps.get_model(settings.AUTH_USER_MODEL)
        found = []
        for model in apps.get_models(include_auto_created=True):
            for field in model._meta.local_fields + list(model._meta.local_many_to_many):
                if field.many_to_many or not field.is_relation or field.related_model is not user:
                    continue
                if model._meta.db_table not in PORTAL_TABLES and model is not user:
                    quote = connection.ops.quote_name
                    found.append((quote(model._meta.db_table), quote(field.column)))
        return found

    def handle(self, *args, size, seed, replace, **options):
        if connection.vendor != "postgresql":
            raise CommandError("generate_province needs PostgreSQL (it loads rows with COPY): set DATABASE_URL.")
        from teams.models import Entity

        if Entity.objects.exists() and not replace:
            raise CommandError("The database already holds entities: give --replace to empty the portal's tables.")
        self.n = SIZES[size]
        self.random = random.Random(seed)
        self.started = time.perf_counter()
        if replace:
            self.step("emptying the portal's tables")
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {', '.join(PORTAL_TABLES)} RESTART IDENTITY CASCADE")
                generated = "SELECT id FROM valley_user WHERE email LIKE %s"
                # Whatever else points at a generated user (groups, TOTP devices a benchmark's session made,
                # API tokens, admin log entries) goes with it.
                for table, column in self.rows_pointing_at_users():
                    sql = f"DELETE FROM {table} WHERE {column} IN ({generated})"  # noqa: S608 - names from models
                    cursor.execute(sql, [f"%@{EMAIL_DOMAIN}"])
                cursor.execute("DELETE FROM valley_user WHERE email LIKE %s", [f"%@{EMAIL_DOMAIN}"])
                cursor.execute("UPDATE valley_auditchainhead SET last_id = 0, last_hash = %s", [GENESIS])
        with transaction.atomic():
            self.valley_and_users()
            self.entities()
            self.applications()
            self.portfolio()
            self.audit_log()
        self.step("VACUUM ANALYZE")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        self.step(f"done in {time.perf_counter() - self.started:.0f} s; every login's password is {PASSWORD}")

    # ------------------------------------------------------------------------------------ helpers

    def step(self, message: str) -> None:
        self.stdout.write(f"[{time.perf_counter() - self.started:6.1f}s] {message}")
        self.stdout.flush()

    def copy(self, table: str, columns: list[str], rows) -> int:
        """Stream rows into `table` with COPY, BATCH rows at a time. Returns how many went in."""
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"  # noqa: S608 - our own table names
        total = 0
        buffer = io.StringIO()
        cursor = connection.cursor().cursor  # the psycopg2 cursor, for copy_expert

        def flush():
            buffer.seek(0)
            cursor.copy_expert(sql, buffer)
            buffer.seek(0)
            buffer.truncate()

        for row in rows:
            buffer.write("\t".join(map(_text, row)))
            buffer.write("\n")
            total += 1
            if total % BATCH == 0:
                flush()
                if total % (BATCH * 10) == 0:
                    self.step(f"  {table}: {total:,} rows")
        flush()
        if total % (BATCH * 10):
            self.step(f"  {table}: {total:,} rows")
        return total

    def at(self, day: float) -> datetime.datetime:
        return BASE + datetime.timedelta(days=day)

    # ------------------------------------------------------------------------------------ valley

    def valley_and_users(self) -> None:
        from valley.models import FocusArea, Institution, SubVenue, Target, User, Valley

        self.step("valley, sub-venues, institutions, focus areas, users")
        valley = Valley.objects.create(
            name_zh="山西省晋创谷", name_en="Shanxi Innovation Valley", opened_on=datetime.date(2023, 12, 22)
        )
        self.venues = SubVenue.objects.bulk_create(
            SubVenue(
                valley=valley,
                code=f"venue-{i:02d}",
                name_zh=f"晋创谷·分园{i:02d}",
                name_en=f"Shanxi Innovation Valley·Venue {i:02d}",
                city_zh=f"城市{i:02d}",
                city_en=f"City {i:02d}",
                opened_on=datetime.date(2023, 12, 22) + datetime.timedelta(days=30 * i),
                status=SubVenue.Status.OPEN,
            )
            for i in range(self.n["sub_venues"])
        )
        self.institutions = Institution.objects.bulk_create(
            Institution(name_zh=f"研究院{i:02d}", name_en=f"Institute {i:02d}", kind=Institution.Kind.UNIVERSITY)
            for i in range(20)
        )
        self.areas = FocusArea.objects.bulk_create(
            FocusArea(code=code, name_zh=zh, name_en=en)
            for code, zh, en in [
                ("advanced-manufacturing", "先进制造", "Advanced manufacturing"),
                ("energy", "能源与新能源", "Energy and new energy"),
                ("semiconductors", "半导体", "Semiconductors"),
                ("new-materials", "新材料", "New materials"),
            ]
        )
        Target.objects.bulk_create(
            [
                Target(
                    code="achievements",
                    name_zh="转化科技成果",
                    name_en="Achievements transformed",
                    target_value=1000,
                    measure=Target.Measure.ACHIEVEMENTS_TRANSFORMED,
                    sort_order=1,
                ),
                Target(
                    code="enterprises",
                    name_zh="培育科技型企业",
                    name_en="Enterprises cultivated",
                    target_value=1000,
                    measure=Target.Measure.ENTERPRISES_CULTIVATED,
                    sort_order=2,
                ),
            ]
        )
        password = make_password(PASSWORD, salt="valleyscale")  # hashed once: thousands of logins share it
        joined = self.at(0)
        staff = [
            ("staff", roles.PROVINCIAL_STAFF),
            ("reviewer", roles.REVIEWER),
            ("approver", roles.APPROVER),
            ("finance", roles.FINANCE_OFFICER),
            ("portfolio", roles.PORTFOLIO_MANAGER),
            ("auditor", roles.AUDITOR),
        ]
        users = User.objects.bulk_create(
            [
                User(email=f"{name}@{EMAIL_DOMAIN}", password=password, is_staff=True, date_joined=joined)
                for name, _role in staff
            ]
            + [
                User(email=f"applicant{i:05d}@{EMAIL_DOMAIN}", password=password, date_joined=joined)
                for i in range(self.n["applicants"])
            ],
            batch_size=5000,
        )
        groups = {group.name: group for group in Group.objects.all()}
        membership = User.groups.through
        membership.objects.bulk_create(
            [
                membership(user_id=user.pk, group_id=groups[role].pk)
                for user, (_n, role) in zip(users, staff, strict=False)
            ]
            + [membership(user_id=user.pk, group_id=groups[roles.APPLICANT].pk) for user in users[len(staff) :]],
            batch_size=5000,
        )
        self.staff_user = users[0]
        self.applicants = users[len(staff) :]

    def entities(self) -> None:
        from teams.models import Entity, Registration, Residency
        from teams.uscc import check_character

        n = self.n["entities"]
        self.step(f"{n:,} teams and startups with their residencies")
        rnd = self.random
        entities = Entity.objects.bulk_create(
            (
                Entity(
                    name_zh=f"晋创团队{i:05d}",
                    name_en=f"Valley Team {i:05d}",
                    kind=Entity.Kind.STARTUP if i % 2 else Entity.Kind.RESEARCH_TEAM,
                    institution=self.institutions[i % len(self.institutions)],
                    focus_area=self.areas[i % len(self.areas)],
                    summary="中试放大与成果转化",
                    owner=self.applicants[i % len(self.applicants)],
                )
                for i in range(n)
            ),
            batch_size=5000,
        )
        self.entity_ids = [entity.pk for entity in entities]
        self.startup_ids = [entity.pk for entity in entities if entity.kind == Entity.Kind.STARTUP]
        self.venue_of = {}
        self.owner_of = {entity.pk: entity.owner_id for entity in entities}
        residencies = []
        for i, entity in enumerate(entities):
            venue = self.venues[i % len(self.venues)]
            self.venue_of[entity.pk] = venue.pk
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
        for number, entity_id in enumerate(self.startup_ids):
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

    # ------------------------------------------------------------------------------------ funding

    def applications(self) -> None:
        from funding.models import FundPolicy

        n, history = self.n["applications"], self.n["history"]
        self.step(f"{n:,} applications in every state, {history:,} history rows, budgets and instalments")
        rnd = self.random
        policy = FundPolicy.objects.order_by("pk").first()
        per_entity = max(1, n // len(self.entity_ids))
        plans = []  # (entity, venue, year, state)
        for index in range(n):
            entity = self.entity_ids[(index // per_entity) % len(self.entity_ids)]
            slot = index % per_entity
            # An entity's applications: earlier ones ended; the second to last is its one grant (closed or
            # still open); the last is open only when the grant is closed. One open, one granted, at most.
            if slot < per_entity - 2:
                state = ENDED[rnd.randrange(2)]
            elif slot == per_entity - 2:
                state = rnd.choice(("closed", "closed", *OPEN_GRANTED, "rejected"))
            else:
                previous = plans[-1][3] if per_entity > 1 else "closed"
                state = rnd.choice(OPEN_BEFORE_DECISION) if previous in ("closed", "rejected") else "withdrawn"
            plans.append((entity, self.venue_of[entity], YEARS[index % 2], state))

        events_per_app = history / n
        reserved: dict = {}
        drawn: dict = {}  # disbursed per budget
        produced = 0
        rows, events, instalments = [], [], []
        min_amount, max_amount, share = POLICY
        for number, (entity, venue, year, state) in enumerate(plans, start=1):
            created = self.at((year - 2024) * 365 + rnd.uniform(0, 330))
            amount = Decimal(rnd.randrange(300, 1001) * 1000)
            granted = state in OPEN_GRANTED or state == "closed"
            approved = amount - Decimal(rnd.randrange(0, 3) * 10000) if granted else None
            approved = max(approved, min_amount) if approved is not None else None
            if granted:
                reserved[(venue, year)] = reserved.get((venue, year), Decimal(0)) + approved
            verified = state in ("disbursement", "closed")
            disbursed = approved if state == "closed" else (approved / 2 if state == "disbursement" else Decimal(0))
            disbursed = disbursed.quantize(Decimal("0.01"))
            if disbursed:
                drawn[(venue, year)] = drawn.get((venue, year), Decimal(0)) + disbursed
            submitted = None if state == "draft" else created + datetime.timedelta(days=1)
            rows.append(
                [
                    number,
                    entity,
                    venue,
                    state,
                    amount,
                    f"中试线建设 {number}",
                    "以资金推动成果转化为企业",
                    self.owner_of[entity],
                    created,
                    submitted,
                    policy.pk,
                    min_amount,
                    max_amount,
                    share,
                    approved,
                    created + datetime.timedelta(days=40) if granted or state == "rejected" else None,
                    self.staff_user.pk if granted else None,
                    (venue, year) if granted else None,  # the budget id, filled in below
                    (created + datetime.timedelta(days=50)).date() if granted else None,
                    "",
                    approved * 2 if verified else None,
                    disbursed,
                ]
            )
            if disbursed:
                instalments.append((number, 1, disbursed, (created + datetime.timedelta(days=80)).date()))
            path = PATH[state]
            # Pad the history with rounds of changes asked and made, so the rows add up to `history`.
            # A short history (a draft, a withdrawal) leaves its share to the next application.
            want = int(events_per_app * number) - produced
            loops = max(0, (want - len(path) - 1) // 3) if len(path) >= 2 and path[1][0] == "start_formal_review" else 0
            steps = [("application.created", "", "draft"), *path[:2], *LOOP * loops, *path[2:]]
            produced += len(steps)
            for offset, (action, source, target) in enumerate(steps):
                events.append((number, action, source, target, created + datetime.timedelta(hours=offset + 1)))

        budget_ids = self.budgets(reserved, drawn)
        for row in rows:
            if row[17] is not None:
                row[17] = budget_ids[row[17]]
        columns = [
            "id",
            "entity_id",
            "sub_venue_id",
            "state",
            "amount",
            "purpose",
            "plan",
            "created_by_id",
            "created_at",
            "submitted_at",
            "policy_id",
            "min_amount",
            "max_amount",
            "max_paid_in_share",
            "approved_amount",
            "decided_at",
            "decided_by_id",
            "budget_id",
            "notice_ends_on",
            "objection",
            "paid_in_capital",
            "disbursed_total",
        ]
        self.copy("funding_application", columns, rows)
        staff = self.staff_user.pk
        self.copy(
            "funding_applicationevent",
            ["application_id", "action", "from_state", "to_state", "by_id", "at", "comment", "internal_note"],
            (
                (app, _action_code(action), source, target, staff, at, "材料齐全，进入下一环节", "")
                for app, action, source, target, at in events
            ),
        )
        self.copy(
            "funding_disbursement",
            ["application_id", "number", "amount", "paid_on", "reference", "recorded_by_id", "recorded_at"],
            ((app, no, amount, paid, f"PAY-{app}-{no}", staff, self.at(500)) for app, no, amount, paid in instalments),
        )
        with connection.cursor() as cursor:
            for table in ("funding_application", "funding_applicationevent", "funding_disbursement"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")  # noqa: S608
        self.application_count = len(rows)

    def budgets(self, reserved: dict, disbursed: dict) -> dict:
        """One budget per sub-venue and year, 20% above what the generated grants reserve from it; the
        counters are the sums of the generated approvals and instalments."""
        from funding.models import SubVenueBudget

        budgets = SubVenueBudget.objects.bulk_create(
            SubVenueBudget(
                sub_venue_id=venue.pk,
                year=year,
                amount=(reserved.get((venue.pk, year), Decimal(0)) * Decimal("1.2")).quantize(Decimal("0.01")),
                reserved=reserved.get((venue.pk, year), Decimal(0)),
                disbursed=disbursed.get((venue.pk, year), Decimal(0)),
            )
            for venue in self.venues
            for year in YEARS
        )
        return {(budget.sub_venue_id, budget.year): budget.pk for budget in budgets}

    # ------------------------------------------------------------------------------------ portfolio

    def portfolio(self) -> None:
        from tolerance.models import Fund

        funds, n = self.n["funds"], self.n["investments"]
        self.step(f"{funds} funds with {n:,} investments")
        fund_rows = Fund.objects.bulk_create(
            Fund(
                name_zh=f"晋创天使基金{i:03d}",
                name_en=f"Valley Angel Fund {i:03d}",
                manager="山西省创业投资管理公司",
                entrusted_institution="山西省受托管理机构",
                size=Decimal("1000000000.00"),
                governing_basis="count" if i % 2 else "amount",
            )
            for i in range(funds)
        )
        fund_ids = [fund.pk for fund in fund_rows]
        rnd = self.random
        confirmer = self.staff_user.pk
        startups = self.startup_ids
        created = self.at(400)

        def rows():
            for i in range(n):
                invested = datetime.date(2024, 1, 1) + datetime.timedelta(days=rnd.randrange(700))
                principal = Decimal(rnd.randrange(500, 10_000) * 1000)
                roll = rnd.random()
                failed = roll < 0.3
                state = "failed" if failed else ("exited" if roll < 0.35 else "active")
                recovered = principal / 10 if failed else (principal * 2 if state == "exited" else Decimal(0))
                meets = i % 20 != 0
                yield (
                    fund_ids[i % len(fund_ids)],
                    startups[rnd.randrange(len(startups))],
                    invested,
                    principal,
                    Decimal("5.00"),
                    state,
                    recovered,
                    "liquidated" if failed else "",
                    invested + datetime.timedelta(days=200) if failed else None,
                    "",
                    created,
                    created,
                    *(True, "纪要", confirmer),
                    *(True, "尽调报告", confirmer),
                    *(True, "风险提示书", confirmer),
                    *(True, "无利益冲突声明", confirmer),
                    *((True, "核查意见", confirmer) if meets else (False, "", None)),
                )

        columns = ["fund_id", "startup_id", "invested_on", "principal", "stake", "state", "recovered"]
        columns += ["failure_kind", "failed_on", "note", "created_at", "updated_at"]
        for code in ("decision_procedure", "due_diligence", "risks_disclosed", "no_conflict", "no_fraud"):
            columns += [code, f"{code}_evidence", f"{code}_confirmed_by_id"]
        self.copy("tolerance_investment", columns, rows())

    # ------------------------------------------------------------------------------------ audit log

    def audit_log(self) -> None:
        n = self.n["audit"]
        self.step(f"{n:,} audit-log entries, chained")
        seal()  # what the steps before wrote comes first; then the head stays locked to the end
        head = lock_head()
        first_id, prev = head.last_id + 1, head.last_hash
        staff, email = self.staff_user.pk, self.staff_user.email
        applications = self.application_count
        states = ("submitted", "formal_review", "expert_review", "awaiting_decision", "public_notice")
        last = {"id": head.last_id, "hash": prev}

        def rows():
            nonlocal prev
            for offset in range(n):
                entry_id = first_id + offset
                at = format_at(self.at(offset * 600 / n))  # spread over 600 days, in order
                app = offset % applications + 1
                before, after = {"state": states[offset % 4]}, {"state": states[offset % 4 + 1]}
                fields = {
                    "id": entry_id,
                    "at": at,
                    "actor_id": staff,
                    "actor_email": email,
                    "action": "funding.application.changed",
                    "object_type": "funding.application",
                    "object_id": str(app),
                    "before": before,
                    "after": after,
                    "prev_hash": prev,
                }
                digest = entry_digest(**fields)
                yield (
                    entry_id,
                    at,
                    staff,
                    email,
                    fields["action"],
                    fields["object_type"],
                    fields["object_id"],
                    canonical_json(before),
                    canonical_json(after),
                    prev,
                    digest,
                )
                prev = digest
            last["id"], last["hash"] = first_id + n - 1, prev

        columns = ["id", "at", "actor_id", "actor_email", "action", "object_type", "object_id"]
        columns += ["before", "after", "prev_hash", "hash"]
        self.copy("valley_auditentry", columns, rows())
        head.last_id, head.last_hash = last["id"], last["hash"]
        head.save(update_fields=["last_id", "last_hash"])
