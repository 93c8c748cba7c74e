"""Demo data for the tolerance app: three funds investing in the demo startups, one well within the
tolerance, one in warning and one in breach, each with four half-yearly compliance reports.

Each investment has quarterly valuation marks from its first quarter end on (written down before a
failure), so the fund figures and the value chart show three years of history.

Idempotent: funds are found by English name, investments by (fund, startup), parties by their
names, and the reports by (fund, as-of date), so running it again changes no counts. Everything is
written through the portfolio's services (by=None: the system), so the demo has its audit entries.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from teams.models import Entity
from tolerance import cases, documents, monitoring, portfolio
from tolerance.figures import quarter_ends
from tolerance.models import (
    STANDARDS,
    CaseKind,
    CaseState,
    CompanyReport,
    ExemptionCase,
    Fund,
    GoverningBasis,
    Investment,
    InvestmentDocument,
    InvestmentParty,
    ValuationMethod,
)
from tolerance.services import compliance_check_run
from tolerance.valuation import valuation_mark_record
from tolerance.workflow import WORKFLOW
from valley.models import User
from valley.templatetags.valley_format import percent

REPORT_DATES = [
    datetime.date(2024, 12, 31),
    datetime.date(2025, 6, 30),
    datetime.date(2025, 12, 31),
    datetime.date(2026, 6, 30),
]

EVIDENCE = {
    "decision_procedure": "投资决策委员会会议纪要及表决记录",
    "due_diligence": "尽职调查报告（法律、财务、技术）已归档",
    "risks_disclosed": "投资风险提示书已由决策机构签收",
    "no_conflict": "相关人员利益冲突申报表及无利益输送承诺书",
    "no_fraud": "审计及纪检部门核查意见：未发现弄虚作假",
}

PRACTITIONERS = ["王建国", "李海燕", "张志强", "刘芳", "陈晓东", "杨帆", "赵磊", "黄静"]
REPRESENTATIVES = ["孙立新", "周敏", "吴海涛", "郑丽娟"]


# The papers on record for every demo investment: (kind, title, file name, the line printed on its page).
DocumentKind = InvestmentDocument.Kind
DOCUMENTS = [
    (DocumentKind.DUE_DILIGENCE, "尽职调查报告", "尽调报告.pdf", "Due diligence report (legal, financial, technical)"),
    (DocumentKind.DECISION_MINUTES, "投资决策委员会会议纪要", "决策纪要.pdf", "Investment committee minutes"),
    (DocumentKind.EVIDENCE, "投资风险提示书签收记录", "风险提示.pdf", "Risk disclosure, signed"),
    (DocumentKind.EVIDENCE, "利益冲突申报表", "利益冲突申报.pdf", "Conflict-of-interest declarations"),
    (DocumentKind.OTHER, "投资协议", "投资协议.pdf", "Investment agreement"),
]


def demo_pdf(line: str) -> bytes:
    """A small, valid one-page PDF printing `line` (ASCII): real enough for a viewer, checked like any upload."""
    text = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 14 Tf 72 760 Td ({text}) Tj ET".encode("ascii", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _documents(investment: Investment, startup: Entity) -> None:
    """The demo papers of an investment, uploaded through the document service (found again by title)."""
    have = set(investment.documents.values_list("title", flat=True))
    for kind, title, filename, line in DOCUMENTS:
        if title in have:
            continue
        upload = SimpleUploadedFile(filename, demo_pdf(f"{line}: {startup.name_en}"), content_type="application/pdf")
        documents.investment_document_upload(investment=investment, by=None, kind=kind, title=title, upload=upload)


@dataclass(frozen=True)
class DemoInvestment:
    startup: int  # index into the demo startups ordered by English name
    invested_on: datetime.date
    principal: str
    stake: str
    state: str = Investment.State.ACTIVE
    recovered: str = "0.00"
    failure_kind: str = ""
    failed_on: datetime.date | None = None
    gaps: tuple[str, ...] = ()  # standards not (yet) met


def d(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


FAILED, EXITED = Investment.State.FAILED, Investment.State.EXITED
K = Investment.FailureKind

FUNDS = [
    {
        "name_zh": "山西省天使投资基金",
        "name_en": "Shanxi Provincial Angel Investment Fund",
        "manager": "山西省创新投资管理有限公司",
        "entrusted_institution": "山西省科技成果转化服务中心",
        "size": "500000000.00",
        "governing_basis": GoverningBasis.COUNT,
        "decision_body": "山西省天使投资基金投资决策委员会",
        "investments": [
            DemoInvestment(0, d("2024-02-20"), "3000000.00", "12.00"),
            DemoInvestment(1, d("2024-03-15"), "2000000.00", "8.50"),
            DemoInvestment(
                2, d("2024-04-10"), "2500000.00", "10.00", FAILED, "400000.00", K.LIQUIDATED, d("2025-03-18")
            ),
            DemoInvestment(3, d("2024-05-08"), "1500000.00", "6.00"),
            DemoInvestment(4, d("2024-06-12"), "3000000.00", "15.00", EXITED, "5200000.00"),
            DemoInvestment(5, d("2024-07-01"), "2000000.00", "9.00"),
            DemoInvestment(6, d("2024-08-19"), "1800000.00", "7.50", FAILED, "0.00", K.DEREGISTERED, d("2025-11-05")),
            DemoInvestment(7, d("2024-09-09"), "2200000.00", "11.00"),
            DemoInvestment(8, d("2024-10-21"), "2600000.00", "10.00"),
            DemoInvestment(9, d("2024-11-28"), "1200000.00", "5.00", gaps=("due_diligence",)),
        ],
    },
    {
        "name_zh": "山西省科技成果转化引导基金",
        "name_en": "Shanxi Achievement Transformation Guidance Fund",
        "manager": "山西省科技投资集团有限公司",
        "entrusted_institution": "山西转型综改示范区投资管理有限公司",
        "size": "300000000.00",
        "governing_basis": GoverningBasis.COUNT,
        "decision_body": "山西省科技成果转化引导基金理事会",
        "investments": [
            DemoInvestment(
                10, d("2024-01-18"), "5000000.00", "18.00", FAILED, "600000.00", K.BANKRUPT, d("2024-11-30")
            ),
            DemoInvestment(11, d("2024-02-26"), "4000000.00", "15.00", FAILED, "0.00", K.WRITTEN_OFF, d("2025-02-14")),
            DemoInvestment(
                12, d("2024-03-30"), "3500000.00", "12.00", FAILED, "350000.00", K.LIQUIDATED, d("2025-05-20")
            ),
            DemoInvestment(13, d("2024-05-06"), "3000000.00", "10.00"),
            DemoInvestment(14, d("2024-06-17"), "4500000.00", "16.00", FAILED, "0.00", K.DEREGISTERED, d("2025-10-09")),
            DemoInvestment(15, d("2024-07-22"), "2500000.00", "9.00", EXITED, "3100000.00"),
            DemoInvestment(
                16, d("2024-09-03"), "3000000.00", "11.00", FAILED, "200000.00", K.BANKRUPT, d("2026-03-12")
            ),
            # Failed, but the conflict-of-interest declaration was never cleared: outside the tolerance.
            DemoInvestment(
                17,
                d("2024-10-15"),
                "2000000.00",
                "8.00",
                FAILED,
                "0.00",
                K.WRITTEN_OFF,
                d("2025-09-01"),
                gaps=("no_conflict",),
            ),
        ],
    },
    {
        "name_zh": "晋创谷创业投资基金",
        "name_en": "Jinchuanggu Venture Capital Fund",
        "manager": "晋创谷创业投资管理有限公司",
        "entrusted_institution": "山西省中小企业创业投资服务中心",
        "size": "200000000.00",
        "governing_basis": GoverningBasis.AMOUNT,
        "decision_body": "晋创谷创业投资基金投资决策委员会",
        "investments": [
            DemoInvestment(
                18, d("2024-02-05"), "8000000.00", "20.00", FAILED, "500000.00", K.BANKRUPT, d("2025-04-22")
            ),
            DemoInvestment(19, d("2024-03-12"), "6000000.00", "18.00", FAILED, "0.00", K.LIQUIDATED, d("2025-12-01")),
            DemoInvestment(
                20, d("2024-04-25"), "5000000.00", "15.00", FAILED, "300000.00", K.WRITTEN_OFF, d("2026-05-15")
            ),
            DemoInvestment(21, d("2024-06-03"), "1000000.00", "5.00"),
            DemoInvestment(22, d("2024-07-29"), "1500000.00", "6.00"),
            DemoInvestment(23, d("2024-09-16"), "500000.00", "3.00", EXITED, "2000000.00"),
        ],
    },
    # Set up this year and not invested yet: its checks find nothing to count ("no data", never "within").
    {
        "name_zh": "吕梁分园种子基金",
        "name_en": "Lüliang Seed Fund",
        "manager": "吕梁市科技创新投资有限公司",
        "entrusted_institution": "晋创谷吕梁分园",
        "size": "50000000.00",
        "governing_basis": GoverningBasis.COUNT,
        "decision_body": "吕梁分园种子基金投资决策委员会",
        "investments": [],
    },
]


def _checklist_fields(gaps: tuple[str, ...], confirmer: User | None) -> dict:
    fields = {}
    for code, _label in STANDARDS:
        met = code not in gaps and confirmer is not None
        fields[code] = met
        fields[f"{code}_evidence"] = EVIDENCE[code] if met else ""
        fields[f"{code}_confirmed_by"] = confirmer if met else None
    return fields


def _parties(fund_spec: dict, spec: DemoInvestment, index: int) -> list[tuple[str, str, str, str]]:
    """(role, organisation, person, position) of the five accountable parties."""
    R = InvestmentParty.Role
    return [
        (R.DECISION_BODY, fund_spec["decision_body"], "", ""),
        (R.SUPERVISORY_DEPARTMENT, "山西省科学技术厅", "", "成果转化与区域创新处"),
        (R.INVESTMENT_REPRESENTATIVE, fund_spec["manager"], REPRESENTATIVES[index % len(REPRESENTATIVES)], "投资代表"),
        (R.ENTRUSTED_INSTITUTION, fund_spec["entrusted_institution"], "", ""),
        (R.PRACTITIONER, fund_spec["manager"], PRACTITIONERS[(spec.startup + index) % len(PRACTITIONERS)], "投资经理"),
    ]


def _differs(record, name: str, value) -> bool:
    current = getattr(record, f"{name}_id") if name.endswith("_confirmed_by") else getattr(record, name)
    return current != (value.pk if isinstance(value, User) else value)


def _fund(spec: dict) -> Fund:
    values = {
        "name_zh": spec["name_zh"],
        "manager": spec["manager"],
        "entrusted_institution": spec["entrusted_institution"],
        "size": Decimal(spec["size"]),
        "governing_basis": spec["governing_basis"],
        "tolerance_threshold": Decimal("80.00"),
        "warning_level": Decimal("70.00"),
    }
    fund = Fund.objects.filter(name_en=spec["name_en"]).first()
    if fund is None:
        return portfolio.fund_create(by=None, name_en=spec["name_en"], **values)
    changes = {name: value for name, value in values.items() if _differs(fund, name, value)}
    return portfolio.fund_update(fund=fund, by=None, changes=changes) if changes else fund


def _investment(fund: Fund, startup: Entity, spec: DemoInvestment, confirmer: User | None) -> Investment:
    """The demo investment, brought to the spec through the services (so the demo is audited like real work)."""
    facts = {
        "invested_on": spec.invested_on,
        "principal": Decimal(spec.principal),
        # Co-investors beside the fund: none, half or the same again as the fund's principal, by startup.
        "co_investment": (Decimal(spec.principal) * Decimal(spec.startup % 3) / 2).quantize(Decimal("0.01")),
        "stake": Decimal(spec.stake),
        **_checklist_fields(spec.gaps, confirmer),
    }
    outcome = {"recovered": Decimal(spec.recovered), "failure_kind": spec.failure_kind, "failed_on": spec.failed_on}
    investment = Investment.objects.filter(fund=fund, startup=startup).first()
    if investment is None:
        checklist = {name: value for name, value in facts.items() if name in portfolio.CHECKLIST_FIELDS}
        plain = {name: value for name, value in facts.items() if name not in checklist}
        investment = portfolio.investment_create(by=None, fund=fund, startup=startup, checklist=checklist, **plain)
    else:
        if investment.state not in (spec.state, WORKFLOW.initial):
            investment = portfolio.investment_reopen(investment=investment, by=None, reason="The demo data changed.")
        wanted = {**facts, **outcome} if investment.state == spec.state != WORKFLOW.initial else facts
        changes = {name: value for name, value in wanted.items() if _differs(investment, name, value)}
        if changes:
            investment = portfolio.investment_update(investment=investment, by=None, changes=changes)
    if investment.state != spec.state:
        if spec.state == EXITED:
            investment = portfolio.investment_record_exit(investment=investment, by=None, proceeds=outcome["recovered"])
        else:
            investment = portfolio.investment_record_failure(
                investment=investment,
                by=None,
                kind=spec.failure_kind,
                failed_on=spec.failed_on,
                recovered=outcome["recovered"],
            )
    return investment


# The last quarter end the demo marks (marks are never dated in the future).
LAST_MARK = datetime.date(2026, 9, 30)
# Quarterly change of an active holding's fair value, by the startup's index: most grow, some stall.
GROWTH = ["0.06", "0.03", "0.09", "-0.02", "0.04", "0.12", "0.00", "0.05"]
EVIDENCE_BY_METHOD = {
    ValuationMethod.RECENT_ROUND: "按最近一轮融资价格（投资协议及增资股东会决议）",
    ValuationMethod.MULTIPLES: "可比上市公司市销率倍数法，流动性折扣 25%（估值报告）",
    ValuationMethod.DISCOUNTED_CASH_FLOW: "现金流折现法，折现率 18%（第三方评估报告）",
    ValuationMethod.WRITE_DOWN: "经营恶化、现金流断裂，按可回收净资产减值（投后管理报告）",
}


def _demo_marks(investment: Investment, spec: DemoInvestment) -> int:
    """Quarterly marks of a demo investment from its first quarter end up to LAST_MARK (or its failure):
    at cost on the round in its first year, then by multiples (each fourth quarter by discounted cash flow),
    growing or shrinking by GROWTH; a project that later failed is written down in its last two quarters.
    Marks that exist stand (idempotent: one per date). Returns how many were recorded."""
    last = min(LAST_MARK, spec.failed_on) if spec.failed_on else LAST_MARK
    days = quarter_ends(spec.invested_on, last, most=12)
    existing = set(investment.valuation_marks.values_list("as_of", flat=True))
    principal = Decimal(spec.principal)
    growth = Decimal(GROWTH[spec.startup % len(GROWTH)])
    value, recorded = principal, 0
    for index, day in enumerate(days):
        if spec.failed_on and index >= len(days) - 2:
            method = ValuationMethod.WRITE_DOWN
            value = (principal * (Decimal("0.40") if index == len(days) - 2 else Decimal("0.15"))).quantize(
                Decimal("0.01")
            )
        elif index < 4:
            method = ValuationMethod.RECENT_ROUND
        else:
            method = ValuationMethod.DISCOUNTED_CASH_FLOW if index % 4 == 3 else ValuationMethod.MULTIPLES
            value = (value * (1 + growth)).quantize(Decimal("0.01"))
        if day not in existing:
            valuation_mark_record(
                investment=investment,
                by=None,
                as_of=day,
                fair_value=value,
                method=method,
                evidence=EVIDENCE_BY_METHOD[method],
            )
            recorded += 1
    return recorded


def seed(log) -> None:
    startups = list(Entity.objects.filter(kind=Entity.Kind.STARTUP).order_by("name_en"))
    needed = 1 + max(spec.startup for fund in FUNDS for spec in fund["investments"])
    if len(startups) < needed:
        log(f"tolerance: skipped, the demo needs {needed} startups and there are {len(startups)}")
        return
    confirmer = User.objects.filter(email__startswith="portfolio@").first()

    marks = 0
    for fund_spec in FUNDS:
        fund = _fund(fund_spec)
        for index, spec in enumerate(fund_spec["investments"]):
            investment = _investment(fund, startups[spec.startup], spec, confirmer)
            named = {(p.role, p.organisation, p.person): p for p in investment.parties.all()}
            for role, organisation, person, position in _parties(fund_spec, spec, index):
                party = named.get((role, organisation, person))
                if party is None:
                    portfolio.party_add(
                        investment=investment,
                        by=None,
                        role=role,
                        organisation=organisation,
                        person=person,
                        position=position,
                    )
                elif party.position != position:
                    portfolio.party_update(party=party, by=None, changes={"position": position})
            marks += _demo_marks(investment, spec)
            _documents(investment, startups[spec.startup])
        for as_of in REPORT_DATES:
            # A report that exists stands: rerunning it would be a real (and audited) compliance rerun.
            report = fund.reports.filter(as_of=as_of).first() or compliance_check_run(fund=fund, as_of=as_of)
        log(
            f"tolerance: {fund.name_en}: {len(fund_spec['investments'])} investments, as of {report.as_of} "
            f"{report.verdict} (by count {percent(report.rate_by_count)}, by amount {percent(report.rate_by_amount)})"
        )
    log(f"tolerance: {marks} valuation marks recorded")
    _company_reports(log, startups)
    _seed_cases(log)


# The step each demo case is taken to, by (fund, index of the investment in FUNDS): a case at every step,
# and the venture fund's decided exemption re-examined after its breach.
CASE_STEPS = {
    ("Shanxi Achievement Transformation Guidance Fund", 0): CaseState.NOTIFIED,
    ("Shanxi Achievement Transformation Guidance Fund", 1): CaseState.DETERMINED,
    ("Shanxi Achievement Transformation Guidance Fund", 2): CaseState.OPINION,
    ("Shanxi Achievement Transformation Guidance Fund", 4): CaseState.EVIDENCE,
    ("Shanxi Provincial Angel Investment Fund", 2): CaseState.NOTIFIED,
    ("Jinchuanggu Venture Capital Fund", 0): CaseState.NOTIFIED,
}
REEXAMINED = ("Jinchuanggu Venture Capital Fund", 0)
ORDER = [CaseState.OPENED, CaseState.EVIDENCE, CaseState.OPINION, CaseState.DETERMINED, CaseState.NOTIFIED]


def _advance(case: ExemptionCase, target: str, people: dict) -> None:
    """Take the case through the services, step by step, up to `target` (nothing when it is already there)."""
    today = timezone.localdate()
    while ORDER.index(case.state) < ORDER.index(target):
        if case.state == CaseState.OPENED:
            evidenced = set(case.evidence.values_list("standard", flat=True))
            for code, _label in STANDARDS:
                if code not in evidenced:
                    cases.case_add_evidence(case=case, by=people["manager"], standard=code, note=EVIDENCE[code])
            party = case.investment.parties.order_by("pk").first()
            if party and not case.statements.exists():
                cases.case_add_statement(
                    case=case,
                    by=people["manager"],
                    party=party,
                    text="投资决策严格履行了尽职调查和集体决策程序，项目失败系市场环境变化所致。",
                    made_on=today,
                )
            case = cases.case_gather_evidence(case=case, by=people["manager"])
        elif case.state == CaseState.EVIDENCE:
            cases.case_give_opinion(
                case=case,
                by=people["supervisor"],
                text="经核查，决策程序合规、尽职调查完整，建议予以免责。",
                given_on=today,
            )
        elif case.state == CaseState.OPINION:
            decisions = {
                party.pk: (True, "已履行勤勉尽责义务，符合尽职免责条件。") for party in case.investment.parties.all()
            }
            cases.case_determine(
                case=case,
                by=people["decider"],
                decisions=decisions,
                meeting_date=today,
                document_number=f"晋投决〔{today.year}〕{case.pk}号",
            )
        elif case.state == CaseState.DETERMINED:
            cases.case_notify(case=case, by=people["manager"], notified_on=today, how="书面通知送达各责任主体")
        case.refresh_from_db()


def _seed_cases(log) -> None:
    people = {
        "manager": User.objects.filter(email__startswith="portfolio@").first(),
        "supervisor": User.objects.filter(email__startswith="supervisor@").first(),
        "decider": User.objects.filter(email__startswith="decisionbody@").first(),
    }
    if not all(people.values()):
        log("tolerance: exemption cases left as the check opened them (the demo users are missing)")
        return
    by_name = {spec["name_en"]: spec for spec in FUNDS}
    startups = list(Entity.objects.filter(kind=Entity.Kind.STARTUP).order_by("name_en"))
    for (fund_name, index), target in CASE_STEPS.items():
        spec = by_name[fund_name]["investments"][index]
        case = (
            ExemptionCase.objects.filter(
                investment__fund__name_en=fund_name, investment__startup=startups[spec.startup], kind=CaseKind.ORIGINAL
            )
            .select_related("investment")
            .first()
        )
        if case is None:
            continue
        _advance(case, target, people)
        if (fund_name, index) == REEXAMINED and not case.reexaminations.exists():
            case.refresh_from_db()
            cases.case_reexamine(
                case=case, by=people["manager"], reason="基金已超出容错阈值，按规定对已作出的免责认定进行复核。"
            )
    log(f"tolerance: {ExemptionCase.objects.count()} exemption cases")


# Quarterly reports: (startup index, year, quarter) left as they are, to show each case in the queues.
LEFT_TO_FILE = {(0, "latest")}  # the latest quarter of the first startup: still to be filed
LEFT_OVERDUE = {(1, 2025, 2)}  # an old quarter never filed: overdue
LATE = {(0, 2024, 4), (3, 2025, 1), (5, 2025, 3), (7, 2026, 1)}  # filed after the due date
# The latest quarter of the others is submitted, waiting for a portfolio manager; the older ones accepted.


def _figures(index: int, year: int, quarter: int) -> dict:
    """Figures that grow quarter by quarter, different per startup; follow-on funding in some quarters."""
    step = (year - 2024) * 4 + quarter
    return {
        "revenue": Decimal(300_000 + index * 45_000) * step / 2,
        "employees": 8 + index % 5 + step * (1 + index % 3),
        "rd_spend": Decimal(120_000 + index * 9_000) + step * 10_000,
        "patents_filed": (index + step) % 4,
        "patents_granted": (index + step) % 3 // 2,
        "follow_on_funding": Decimal(5_000_000 + index * 250_000) if (index + step) % 5 == 0 else Decimal("0.00"),
    }


def _company_reports(log, startups: list[Entity]) -> None:
    """Three years of quarterly reports of the demo startups with an active investment, filed and accepted
    through tolerance.monitoring (by=None: the system), except the cases above. Idempotent: only reports
    still to be filed are touched, and those the plan leaves as they are stay so."""
    today = timezone.localdate()
    monitoring.company_reports_open_due(today=today)
    index_of = {startup.pk: index for index, startup in enumerate(startups)}
    reports = list(CompanyReport.objects.filter(entity_id__in=index_of).order_by("entity_id", "year", "quarter"))
    latest = {}
    for report in reports:
        latest[report.entity_id] = (report.year, report.quarter)
    filed = 0
    for report in reports:
        index, period = index_of[report.entity_id], (report.year, report.quarter)
        is_latest = latest[report.entity_id] == period
        if report.state != CompanyReport.State.DRAFT:
            continue
        if (index, "latest") in LEFT_TO_FILE and is_latest or (index, *period) in LEFT_OVERDUE:
            continue
        late_days = 9 if (index, *period) in LATE else -3 - index % 7
        filed_on = report.due_on + datetime.timedelta(days=late_days)
        submitted_at = timezone.make_aware(datetime.datetime.combine(min(filed_on, today), datetime.time(10, 0)))
        report = monitoring.company_report_save(report=report, by=None, figures=_figures(index, *period))
        report = monitoring.company_report_submit(report=report, by=None, submitted_at=submitted_at)
        if not is_latest:
            monitoring.company_report_accept(report=report, by=None)
        filed += 1
    log(f"tolerance: {len(reports)} quarterly reports of {len(latest)} startups ({filed} filed now)")
