"""The service requests of the province generator (teams.generate calls it): requests to the four service lines
from the generated entities, in every state of the workflow, with their history and, on some, the messages
between the applicant and the line's staff. Rows go in through COPY with their ids (1, 2, … on freshly
emptied tables), as the funding step writes its own."""

import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone

from teams.service_models import ServiceRequestState as S
from teams.service_workflow import SERVICE_REQUEST
from valley.core.calendar import CalendarWindow
from valley.ops.generator import Province

# How often each state comes, out of 20: most requests are done with; a queue keeps a share of open ones.
STATES = [S.CLOSED] * 8 + [S.RESOLVED] * 2 + [S.IN_PROGRESS] * 3 + [S.ACCEPTED] * 2 + [S.SUBMITTED] * 3
STATES += [S.REJECTED] * 2
# The steps after submission, per state (the workflow's transition names), in order.
PATHS = {
    S.SUBMITTED: [],
    S.REJECTED: ["reject"],
    S.ACCEPTED: ["accept"],
    S.IN_PROGRESS: ["accept", "start"],
    S.RESOLVED: ["accept", "start", "resolve"],
    S.CLOSED: ["accept", "start", "resolve", "close"],
}
SUBJECTS = ["对接天使投资", "办理工商变更", "中试设备共享预约", "检测报告出具", "专利许可谈判支持", "成果评价"]
REASON = "该事项不属于本条线受理范围，请咨询相关部门。"
RESOLUTION = "已办结，详见消息记录。"
MESSAGES = ["已收到，请补充相关材料。", "材料已补充，谢谢。"]

REQUEST_COLUMNS = [
    "id",
    "entity_id",
    "line_id",
    "sub_venue_id",
    "applicant_id",
    "subject",
    "details",
    "preferred_contact",
    "state",
    "handler_id",
    "submitted_at",
    "submitted_on",
    "due_on",
    "accepted_at",
    "resolved_at",
    "resolved_on",
    "auto_close_on",
    "closed_at",
    "rejection_reason",
    "resolution",
    "rating",
    "rating_comment",
    "rated_at",
    "overdue_notified_at",
]
TABLES = ("teams_servicerequest", "teams_servicerequestevent", "teams_servicerequestmessage")


class _Deadlines:
    """add_working_days over one calendar read, remembered per (start, count): a few hundred distinct days."""

    def __init__(self, first: datetime.date, last: datetime.date):
        self.window = CalendarWindow(first, last)
        self.known: dict[tuple[datetime.date, int], datetime.date] = {}

    def add(self, start: datetime.date, count: int) -> datetime.date:
        key = (start, count)
        if key not in self.known:
            day, counted = start, 0
            while counted < count:
                day += datetime.timedelta(days=1)
                counted += self.window.is_working_day(day)
            self.known[key] = day
        return self.known[key]


def generate(province: Province) -> None:
    """Reads "entity_ids", "venue_of", "owner_of", "service_lines" and "line_staff"; leaves
    "service_request_count" (the requests' ids are 1 … that number)."""
    made = province.made
    entity_ids, venue_of, owner_of = made["entity_ids"], made["venue_of"], made["owner_of"]
    lines, line_staff = made["service_lines"], made["line_staff"]
    n = province.sizes["service_requests"]
    province.log(f"{n:,} service requests in every state, with their history and messages")
    rnd = province.random
    deadlines = _Deadlines(province.at(0).date(), province.at(760).date())
    auto_close = settings.SERVICE_AUTO_CLOSE_WORKING_DAYS
    requests, events, messages = [], [], []
    for number in range(1, n + 1):
        # Every entity in turn asks one line, then the next round the next line: every line has requests from
        # every sub-venue, and every applicant has requests to several lines.
        entity = entity_ids[number % len(entity_ids)]
        line = lines[(number // len(entity_ids)) % len(lines)]
        state = STATES[rnd.randrange(len(STATES))]
        owner, staff = owner_of[entity], line_staff[line.pk]
        submitted_at = province.at(rnd.uniform(0, 700))
        submitted_on = timezone.localtime(submitted_at).date()
        row = dict.fromkeys(REQUEST_COLUMNS)
        row.update(
            id=number,
            entity_id=entity,
            line_id=line.pk,
            sub_venue_id=venue_of[entity],
            applicant_id=owner,
            subject=f"{SUBJECTS[number % len(SUBJECTS)]} {number}",
            details="请协助办理，材料随后补充。",
            preferred_contact="工作日 9:00–17:00",
            state=state,
            submitted_at=submitted_at,
            submitted_on=submitted_on,
            due_on=deadlines.add(submitted_on, line.time_limit_working_days),
            rejection_reason="",
            resolution="",
            rating_comment="",
        )
        events.append((number, "teams.service_request.submitted", "", S.SUBMITTED, owner, submitted_at, ""))
        at, current = submitted_at, S.SUBMITTED
        for name in PATHS[state]:
            at += datetime.timedelta(days=rnd.uniform(0.2, 3))
            comment, by = "", staff
            if name == "reject":
                row["rejection_reason"] = comment = REASON
                target = S.REJECTED
            elif name == "accept":
                row.update(handler_id=staff, accepted_at=at)
                target = S.ACCEPTED
            elif name == "start":
                target = S.IN_PROGRESS
                if rnd.random() < 0.5:
                    # The line's first message started the work; the applicant answered.
                    messages.append((number, staff, True, MESSAGES[0], at))
                    messages.append((number, owner, False, MESSAGES[1], at + datetime.timedelta(hours=3)))
            elif name == "resolve":
                resolved_on = timezone.localtime(at).date()
                row.update(
                    resolution=RESOLUTION,
                    resolved_at=at,
                    resolved_on=resolved_on,
                    auto_close_on=deadlines.add(resolved_on, auto_close),
                )
                comment, target = RESOLUTION, S.RESOLVED
            else:  # closed: rated by the applicant two times in three, else on schedule
                target = S.CLOSED
                if rnd.random() < 2 / 3:
                    name, by = "rate", owner
                    row.update(rating=rnd.choice((3, 4, 5, 5, 5)), rating_comment="响应及时。", rated_at=at)
                else:
                    name, by = "auto_close", None
                    at = datetime.datetime.combine(row["auto_close_on"], datetime.time(2), tzinfo=datetime.UTC)
                row["closed_at"] = at
            events.append((number, f"{SERVICE_REQUEST.name}.{name}", current, target, by, at, comment))
            current = target
        requests.append([row[column] for column in REQUEST_COLUMNS])
    province.copy("teams_servicerequest", REQUEST_COLUMNS, requests)
    province.copy(
        "teams_servicerequestevent",
        ["request_id", "action", "from_state", "to_state", "by_id", "at", "comment"],
        events,
    )
    province.copy("teams_servicerequestmessage", ["request_id", "author_id", "from_staff", "body", "sent_at"], messages)
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")  # noqa: S608
    made["service_request_count"] = n
