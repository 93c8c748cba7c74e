"""Fill PostgreSQL with a province-scale valley, reproducibly from a seed, for benchmarks and load tests.

    python manage.py generate_province                 # full size (see SIZES), a few minutes
    python manage.py generate_province --size small   # a few thousand rows, for tests
    python manage.py generate_province --replace      # empty the portal's tables first

The valley's own step makes the sub-venues, institutions and logins; then each app's step, registered in
its AppConfig.ready() (valley.ops.generator), fills its tables in the order of INSTALLED_APPS; the audit
log comes last. Rows go in through COPY (psycopg2 copy_expert, streamed in batches) or bulk_create: no
model signals, so the audit log is not fed by the generator's writes; instead it writes its own audit
entries, with hashes chained by valley.audit.entry_digest, and moves the chain head to the last one, so
`verify_audit_log` passes. Every database rule holds for the generated rows (constraints stay on).
"""

import datetime
import io
import random
import time

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from valley.audit import GENESIS, canonical_json, entry_digest, format_at, guard, seal
from valley.audit.chain import HASH_FORMAT, lock_head, sealing_algorithm
from valley.core import roles
from valley.demo import SERVICE_LINES
from valley.models import AuditEntry, FocusArea, Institution, ServiceLine, SubVenue, Target, User, Valley
from valley.ops.generator import Province, steps

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
        "service_requests": 100_000,
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
        "service_requests": 1_000,
    },
}
BATCH = 50_000
PASSWORD = "valley-scale-2026"  # every generated login; benchmark databases only
EMAIL_DOMAIN = "scale.valley.example.cn"

# The valley's tables that --replace empties; each app's step names its own (valley.ops.generator).
VALLEY_EMPTIES = (AuditEntry, User.sub_venues.through, Target, SubVenue, Valley, FocusArea, Institution)


def _text(value) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def portal_tables() -> list[str]:
    """The tables --replace empties: the valley's and those each registered step names, with their
    many-to-many tables."""
    tables = []
    for model in [*VALLEY_EMPTIES, *(model for step in steps() for model in step.empties)]:
        for table in [model._meta.db_table] + [
            field.remote_field.through._meta.db_table
            for field in model._meta.local_many_to_many
            if field.remote_field.through._meta.auto_created
        ]:
            if table not in tables:
                tables.append(table)
    return tables


class Command(BaseCommand):
    help = "Fill the database with a province-scale valley (PostgreSQL), reproducibly from a seed."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=sorted(SIZES), default="full")
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--replace", action="store_true", help="empty the portal's tables first")

    @staticmethod
    def rows_pointing_at_users() -> list[tuple[str, str]]:
        """(table, column) of every foreign key to the user table outside portal_tables() (emptied anyway)."""
        from django.apps import apps

        user = apps.get_model(settings.AUTH_USER_MODEL)
        emptied = portal_tables()
        found = []
        for model in apps.get_models(include_auto_created=True):
            for field in model._meta.local_fields + list(model._meta.local_many_to_many):
                if field.many_to_many or not field.is_relation or field.related_model is not user:
                    continue
                if model._meta.db_table not in emptied and model is not user:
                    quote = connection.ops.quote_name
                    found.append((quote(model._meta.db_table), quote(field.column)))
        return found

    def handle(self, *args, size, seed, replace, **options):
        if connection.vendor != "postgresql":
            raise CommandError("generate_province needs PostgreSQL (it loads rows with COPY): set DATABASE_URL.")
        tables = portal_tables()
        if not replace:
            # The audit log is never empty (migrations record the first fund policy); any other row is data.
            with connection.cursor() as cursor:
                for table in tables:
                    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")  # noqa: S608 - names from models
                    if table != AuditEntry._meta.db_table and cursor.fetchone()[0]:
                        raise CommandError(
                            f"The database already holds the portal's data ({table}): "
                            "give --replace to empty the portal's tables."
                        )
        self.n = SIZES[size]
        self.random = random.Random(seed)
        self.started = time.perf_counter()
        self.province = Province(sizes=self.n, random=self.random, copy=self.copy, log=self.step)
        if replace:
            self.step("emptying the portal's tables")
            # The audit log goes too, on purpose: past its append-only triggers (valley.audit.guard).
            with guard.maintenance(), connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
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
            for step in steps():
                step.run(self.province)
            # The audit log's entries are about the generated applications.
            self.application_count = self.province.made["application_count"]
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
        return self.province.at(day)

    # ------------------------------------------------------------------------------------ valley

    def valley_and_users(self) -> None:
        """Leaves "venues", "institutions", "areas", "staff_user" (the provincial staff login that decides,
        pays and confirms), "applicants" (the applicants' logins), "service_lines" (the four lines) and
        "line_staff" (line id → the user id of its one service-line staff login) for the apps' steps."""
        self.step("valley, sub-venues, institutions, focus areas, users")
        valley = Valley.objects.create(
            name_zh="山西省晋创谷", name_en="Shanxi Innovation Valley", opened_on=datetime.date(2023, 12, 22)
        )
        venues = SubVenue.objects.bulk_create(
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
        institutions = Institution.objects.bulk_create(
            Institution(name_zh=f"研究院{i:02d}", name_en=f"Institute {i:02d}", kind=Institution.Kind.UNIVERSITY)
            for i in range(20)
        )
        areas = FocusArea.objects.bulk_create(
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
        lines, line_staff = self.service_lines(password, joined, groups)
        self.province.made.update(
            venues=venues,
            institutions=institutions,
            areas=areas,
            staff_user=self.staff_user,
            applicants=users[len(staff) :],
            service_lines=lines,
            line_staff=line_staff,
        )

    def service_lines(self, password: str, joined, groups) -> tuple[list[ServiceLine], dict[int, int]]:
        """The four service lines (kept by --replace, as the guides point at them: updated in place) and one
        service-line staff login per line, service-<code>@…, who works that line only, for the queue's
        benchmark. No line lead: --replace deletes the generated logins, and a lead would take its line along."""
        lines = [
            ServiceLine.objects.update_or_create(
                code=code, defaults={"name_zh": zh, "name_en": en, "description_zh": d_zh, "description_en": d_en}
            )[0]
            for code, zh, en, d_zh, d_en in SERVICE_LINES
        ]
        people = User.objects.bulk_create(
            User(email=f"service-{line.code}@{EMAIL_DOMAIN}", password=password, is_staff=True, date_joined=joined)
            for line in lines
        )
        User.groups.through.objects.bulk_create(
            User.groups.through(user_id=person.pk, group_id=groups[roles.SERVICE_LINE_STAFF].pk) for person in people
        )
        User.service_lines.through.objects.bulk_create(
            User.service_lines.through(user_id=person.pk, serviceline_id=line.pk)
            for person, line in zip(people, lines, strict=True)
        )
        return lines, {line.pk: person.pk for person, line in zip(people, lines, strict=True)}

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
        algorithm = sealing_algorithm()
        agent = "command:generate_province"

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
                    "hash_algorithm": algorithm,
                    "source_address": "",
                    "user_agent": agent,
                    "outcome": "success",
                    "hash_format": HASH_FORMAT,
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
                    algorithm,
                    "",
                    agent,
                    "success",
                    HASH_FORMAT,
                )
                prev = digest
            last["id"], last["hash"] = first_id + n - 1, prev

        columns = ["id", "at", "actor_id", "actor_email", "action", "object_type", "object_id"]
        columns += ["before", "after", "prev_hash", "hash", "hash_algorithm"]
        columns += ["source_address", "user_agent", "outcome", "hash_format"]
        self.copy("valley_auditentry", columns, rows())
        head.last_id, head.last_hash = last["id"], last["hash"]
        head.save(update_fields=["last_id", "last_hash"])
