"""Exemption cases: the check proposes (opens cases), people decide (tolerance/cases.py)."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import translation

from tests.factories import FundFactory, InvestmentFactory
from tolerance import cases, selectors
from tolerance.models import (
    STANDARDS,
    CaseEvent,
    CaseKind,
    CaseState,
    ExemptionCase,
    ExemptionDetermination,
    Investment,
    Verdict,
    standing_determinations,
)
from tolerance.services import compliance_check_run
from valley.core import roles
from valley.core.workflow import TransitionForbidden, TransitionNotAllowed
from valley.models import AuditEntry

AS_OF = datetime.date(2026, 6, 30)
LATER = datetime.date(2026, 9, 30)
MET = datetime.date(2026, 7, 15)


@pytest.fixture(autouse=True)
def _english():
    """The messages are asserted in English (the portal's language is Chinese)."""
    with translation.override("en"):
        yield


@pytest.fixture
def manager(make_user):
    return make_user(roles.PORTFOLIO_MANAGER, email="pm@example.cn")


@pytest.fixture
def supervisor(make_user):
    return make_user(roles.EXEMPTION_SUPERVISOR, email="supervisor@example.cn")


@pytest.fixture
def decider(make_user):
    return make_user(roles.EXEMPTION_DECISION_MAKER, email="decider@example.cn")


def portfolio(fund, *, active=0, failed=0, **failed_fields):
    for _ in range(active):
        InvestmentFactory(fund=fund)
    return [InvestmentFactory(fund=fund, failed=True, **failed_fields) for _ in range(failed)]


def exempt_investments(fund) -> set[int]:
    return set(
        standing_determinations().filter(investment__fund=fund, exempt=True).values_list("investment", flat=True)
    )


def take_to_opinion(case, manager, supervisor):
    for code, _label in STANDARDS:
        cases.case_add_evidence(case=case, by=manager, standard=code, note=f"{code}: minutes on file")
    party = case.investment.parties.first()
    cases.case_add_statement(case=case, by=manager, party=party, text="我方按程序决策。", made_on=MET)
    cases.case_gather_evidence(case=case, by=manager)
    cases.case_give_opinion(case=case, by=supervisor, text="程序完整，建议免责。", given_on=MET)


def determine(case, decider, *, exempt=True, number="晋创投决〔2026〕7号"):
    decisions = {party.pk: (exempt, "勤勉尽责，符合免责条件。") for party in case.investment.parties.all()}
    return cases.case_determine(case=case, by=decider, decisions=decisions, meeting_date=MET, document_number=number)


# ---------------------------------------------------------------------------- the check opens, nobody is exempt


def test_4_of_5_failed_80_percent_opens_a_case_each_and_exempts_nobody_until_the_determination(
    db, manager, supervisor, decider
):
    fund = FundFactory()
    failed = portfolio(fund, active=1, failed=4)

    report = compliance_check_run(fund=fund, as_of=AS_OF)

    assert report.rate_by_count == Decimal("80.00") and report.verdict != Verdict.BREACH
    opened = ExemptionCase.objects.filter(investment__fund=fund)
    assert report.cases_opened == 4
    assert set(opened.values_list("investment", flat=True)) == {i.pk for i in failed}
    assert all(
        c.opened_by_check
        and c.report_id == report.pk
        and c.governing_rate == Decimal("80.00")
        and c.state == CaseState.OPENED
        and c.kind == CaseKind.ORIGINAL
        for c in opened
    )
    assert not ExemptionDetermination.objects.exists()  # the check decides nothing
    assert exempt_investments(fund) == set()

    case = opened.get(investment=failed[0])
    take_to_opinion(case, manager, supervisor)
    assert exempt_investments(fund) == set()  # an opinion is not a determination either
    determine(case, decider)
    assert exempt_investments(fund) == {failed[0].pk}
    assert standing_determinations().filter(investment=failed[0]).count() == 5  # per party


def test_5_of_6_failed_opens_no_case(db):
    fund = FundFactory()
    portfolio(fund, active=1, failed=5)

    report = compliance_check_run(fund=fund, as_of=AS_OF)

    assert report.verdict == Verdict.BREACH and report.rate_by_count == Decimal("83.33")  # shown half-up
    assert report.cases_opened == 0
    assert not ExemptionCase.objects.exists()


def test_a_project_missing_one_standard_never_gets_a_case(db):
    fund = FundFactory()
    portfolio(fund, active=5, failed=1)
    gap = InvestmentFactory(fund=fund, failed=True, checklist={"no_fraud": False})

    compliance_check_run(fund=fund, as_of=AS_OF)
    compliance_check_run(fund=fund, as_of=LATER)

    assert ExemptionCase.objects.count() == 1
    assert not ExemptionCase.objects.filter(investment=gap).exists()


def test_a_rerun_and_the_next_night_open_nothing_twice(db):
    fund = FundFactory()
    portfolio(fund, active=3, failed=2)
    first = compliance_check_run(fund=fund, as_of=AS_OF)
    rerun = compliance_check_run(fund=fund, as_of=AS_OF)
    next_night = compliance_check_run(fund=fund, as_of=LATER)

    assert (first.cases_opened, rerun.cases_opened, next_night.cases_opened) == (2, 0, 0)
    assert ExemptionCase.objects.count() == 2
    assert CaseEvent.objects.filter(action="tolerance.exemption_case.opened").count() == 2
    [entry] = AuditEntry.objects.filter(action="tolerance.exemption_case.opened")
    assert sorted(row[0] for row in entry.after["cases"]) == sorted(ExemptionCase.objects.values_list("pk", flat=True))


def test_the_database_refuses_a_second_original_case(db):
    fund = FundFactory()
    portfolio(fund, active=3, failed=1)
    compliance_check_run(fund=fund, as_of=AS_OF)
    case = ExemptionCase.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        ExemptionCase.objects.create(
            investment=case.investment, opened_by_check=True, opened_at=case.opened_at, state_changed_at=case.opened_at
        )


def test_in_breach_cases_already_open_are_left_as_they_are(db):
    fund = FundFactory()
    portfolio(fund, active=1, failed=1)
    compliance_check_run(fund=fund, as_of=AS_OF)
    case = ExemptionCase.objects.get()
    portfolio(fund, failed=3)  # now 4 of 5... and one more makes it a breach
    portfolio(fund, failed=1)

    report = compliance_check_run(fund=fund, as_of=LATER)

    assert report.verdict == Verdict.BREACH and report.cases_opened == 0
    assert list(ExemptionCase.objects.values_list("pk", "state")) == [(case.pk, CaseState.OPENED)]


# ---------------------------------------------------------------------------- a decided exemption stands


def test_a_decided_exemption_survives_a_later_breach_and_a_reexamination_is_opened(db, manager, supervisor, decider):
    fund = FundFactory()
    [failed] = portfolio(fund, active=4, failed=1)
    compliance_check_run(fund=fund, as_of=AS_OF)
    case = ExemptionCase.objects.get()
    take_to_opinion(case, manager, supervisor)
    decided = determine(case, decider)
    cases.case_notify(case=case, by=manager, notified_on=MET, how="书面通知")
    decided_rows = {d.pk: (d.exempt, d.reason, d.document_number) for d in ExemptionDetermination.objects.all()}

    portfolio(fund, failed=4, failed_on=datetime.date(2026, 8, 1))  # 5 of 9 … and then the breach
    for investment in Investment.objects.filter(fund=fund, state=Investment.State.ACTIVE)[:3]:
        investment.delete()  # 5 of 6 failed
    breach = compliance_check_run(fund=fund, as_of=LATER)
    again = compliance_check_run(fund=fund, as_of=LATER)

    assert breach.verdict == Verdict.BREACH and breach.cases_opened == 1 and again.cases_opened == 0
    case.refresh_from_db()
    assert case.state == CaseState.NOTIFIED  # decided, and stays so
    assert {d.pk: (d.exempt, d.reason, d.document_number) for d in ExemptionDetermination.objects.all()} == decided_rows
    assert exempt_investments(fund) == {failed.pk}  # the exemption stands until a re-examination decides
    reexam = ExemptionCase.objects.get(kind=CaseKind.REEXAMINATION)
    assert reexam.reexamines == case and reexam.report == breach and reexam.opened_by_check
    assert reexam.state == CaseState.OPENED and reexam.reason

    # The re-examination revokes it: new rows, the old ones stay, marked superseded.
    take_to_opinion(reexam, manager, supervisor)
    revoked = determine(reexam, decider, exempt=False, number="晋创投决〔2026〕9号")
    assert exempt_investments(fund) == set()
    assert {d.supersedes_id for d in revoked} == {d.pk for d in decided}
    assert ExemptionDetermination.objects.count() == 10
    for old in ExemptionDetermination.objects.filter(pk__in=decided_rows):
        assert old.superseded_by.case == reexam and (old.exempt, old.reason) == decided_rows[old.pk][:2]

    history = list(CaseEvent.objects.filter(case=case).values_list("action", flat=True))
    assert history == [
        "tolerance.exemption_case.opened",
        *["tolerance.exemption_case.evidence_added"] * 5,
        "tolerance.exemption_case.statement_added",
        "tolerance.exemption_case.evidence_gathered",
        "tolerance.exemption_case.opinion_given",
        "tolerance.exemption_case.determined",
        "tolerance.exemption_case.notified",
    ]
    assert list(CaseEvent.objects.filter(case=reexam).values_list("action", flat=True))[0] == (
        "tolerance.exemption_case.reexamination_opened"
    )
    # every event has its audit entry on the case
    assert AuditEntry.objects.filter(object_type="tolerance.exemptioncase", object_id=str(case.pk)).count() == 10


def test_a_person_reexamines_a_decided_case_on_new_evidence(db, manager, supervisor, decider):
    fund = FundFactory()
    portfolio(fund, active=4, failed=1)
    compliance_check_run(fund=fund, as_of=AS_OF)
    case = ExemptionCase.objects.get()
    with pytest.raises(TransitionNotAllowed, match="Only a decided case"):
        cases.case_reexamine(case=case, by=manager, reason="新证据")
    take_to_opinion(case, manager, supervisor)
    determine(case, decider)

    with pytest.raises(cases.CaseError):
        cases.case_reexamine(case=case, by=manager, reason="  ")
    reexam = cases.case_reexamine(case=case, by=manager, reason="收到举报材料，需复核。")

    assert reexam.kind == CaseKind.REEXAMINATION and reexam.opened_by == manager and not reexam.opened_by_check
    with pytest.raises(TransitionNotAllowed):
        cases.case_reexamine(case=case, by=manager, reason="再次复核")


# ---------------------------------------------------------------------------- wrong step, wrong role


def test_steps_are_refused_in_the_wrong_state_or_role_with_a_clear_message(db, manager, supervisor, decider, auditor):
    fund = FundFactory()
    portfolio(fund, active=4, failed=1)
    compliance_check_run(fund=fund, as_of=AS_OF)
    case = ExemptionCase.objects.get()

    with pytest.raises(cases.CaseError, match="Evidence is still missing on"):
        cases.case_gather_evidence(case=case, by=manager)
    with pytest.raises(TransitionForbidden, match="Your role may not"):
        cases.case_add_evidence(case=case, by=auditor, standard="no_fraud", note="x")
    with pytest.raises(TransitionForbidden, match="Your role may not"):
        cases.case_gather_evidence(case=case, by=decider)
    with pytest.raises(TransitionNotAllowed, match="once the evidence is gathered"):
        cases.case_give_opinion(case=case, by=supervisor, text="意见", given_on=MET)
    with pytest.raises(TransitionNotAllowed, match="follows the supervisory opinion"):
        determine(case, decider)
    with pytest.raises(cases.CaseError, match="five standards"):
        cases.case_add_evidence(case=case, by=manager, standard="luck", note="x")

    take_to_opinion(case, manager, supervisor)
    with pytest.raises(TransitionForbidden):
        determine(case, supervisor)
    with pytest.raises(cases.CaseError, match="every party"):
        cases.case_determine(
            case=case, by=decider, decisions={}, meeting_date=MET, document_number="晋创投决〔2026〕7号"
        )
    with pytest.raises(cases.CaseError, match="document number"):
        determine(case, decider, number=" ")
    with pytest.raises(TransitionNotAllowed, match="added while the case is opened"):
        cases.case_add_evidence(case=case, by=manager, standard="no_fraud", note="x")
    assert case.state == CaseState.OPENED  # our copy: the services lock and read the row themselves
    case.refresh_from_db()
    assert case.state == CaseState.OPINION and not ExemptionDetermination.objects.exists()


def test_the_dashboard_says_to_be_decided_with_step_and_age(db, manager):
    fund = FundFactory()
    [failed] = portfolio(fund, active=4, failed=1)
    compliance_check_run(fund=fund, as_of=AS_OF)
    dashboard = selectors.fund_dashboard(fund=fund)
    [row] = dashboard.failed
    assert row.pk == failed.pk and row.exemption_status == selectors.ExemptionStatus.TO_BE_DECIDED
    assert str(row.open_case_state_label) == "opened" and row.open_case_age["days"] == 0


def test_migrated_automatic_determinations_exempt_nobody(db):
    """The data migration's result: automatic rows in a case opened by the check, still to be decided."""
    fund = FundFactory()
    [failed] = portfolio(fund, active=4, failed=1)
    report = compliance_check_run(fund=fund, as_of=AS_OF)
    case = ExemptionCase.objects.get()
    party = failed.parties.first()
    ExemptionDetermination.objects.create(
        case=case,
        report=report,
        investment=failed,
        party=party,
        reason="old",
        determined_at=case.opened_at,
        automatic=True,
    )
    assert exempt_investments(fund) == set()
    assert selectors.fund_dashboard(fund=fund).failed[0].exemption_status == selectors.ExemptionStatus.TO_BE_DECIDED


# ---------------------------------------------------------------------------- API and CSV read decided cases only


def test_the_api_and_csv_show_cases_and_only_the_determinations_of_decided_cases(
    db, manager, supervisor, decider, auditor, applicant
):
    from tests.api_support import token_client

    fund = FundFactory()
    first, second = portfolio(fund, active=3, failed=2)
    compliance_check_run(fund=fund, as_of=AS_OF)
    decided = ExemptionCase.objects.get(investment=first)
    take_to_opinion(decided, manager, supervisor)
    determine(decided, decider)
    undecided = ExemptionCase.objects.get(investment=second)
    cases.case_add_evidence(case=undecided, by=manager, standard="no_fraud", note="x")

    api = token_client(auditor)
    listed = api.get("/api/exemption-cases/", {"fund": fund.pk}).json()
    assert listed["count"] == 2
    detail = api.get(f"/api/exemption-cases/{undecided.pk}/").json()
    assert detail["state"] == "opened" and [e["action"] for e in detail["events"]][-1].endswith("evidence_added")
    assert api.get("/api/exemption-cases/", {"state": "determined"}).json()["count"] == 1
    assert api.get("/api/exemption-cases/", {"state": "nonsense"}).status_code == 400
    exemptions = api.get("/api/exemptions/").json()
    assert exemptions["count"] == 5 and {row["case"] for row in exemptions["results"]} == {decided.pk}
    assert all(row["document_number"] and not row["superseded"] for row in exemptions["results"])
    assert token_client(applicant).get("/api/exemption-cases/").json()["count"] == 0

    # The CSVs' rows (the download streams them by COPY on its own connection, outside this test's transaction).
    from tolerance.exports import CASES, EXEMPTIONS
    from valley.exports.engine import rows

    assert len(list(rows(CASES, CASES.queryset(auditor)))) == 2
    exported = list(rows(EXEMPTIONS, EXEMPTIONS.queryset(auditor)))
    assert len(exported) == 5  # the decided case's five parties; the open case exempts nobody
    assert not list(rows(CASES, CASES.queryset(applicant)))


def test_the_api_takes_the_steps_with_the_same_rules(db, manager, supervisor, decider):
    from tests.api_support import token_client

    fund = FundFactory()
    [failed] = portfolio(fund, active=3, failed=1)
    compliance_check_run(fund=fund, as_of=AS_OF)
    case = ExemptionCase.objects.get()
    url = f"/api/exemption-cases/{case.pk}"
    pm = token_client(manager)
    for code, _label in STANDARDS:
        assert pm.post(f"{url}/evidence/", {"standard": code, "note": "纪要"}, format="json").status_code == 200
    assert pm.post(f"{url}/evidence/", {"standard": "luck", "note": "x"}, format="json").status_code == 400
    assert token_client(supervisor).post(f"{url}/opinion/", {"text": "x", "given_on": "2026-07-01"}).status_code == 409
    assert token_client(decider).post(f"{url}/gather-evidence/", {}).status_code == 403
    assert pm.post(f"{url}/gather-evidence/", {}).json()["state"] == "evidence"
    assert (
        token_client(supervisor).post(f"{url}/opinion/", {"text": "建议免责", "given_on": "2026-07-01"}).status_code
        == 200
    )
    decisions = [{"party": p.pk, "exempt": True, "reason": "勤勉尽责"} for p in failed.parties.all()]
    body = {"meeting_date": "2026-07-15", "document_number": "晋投决〔2026〕5号", "decisions": decisions}
    assert (
        token_client(decider).post(f"{url}/determine/", {**body, "decisions": decisions[:1]}, format="json").status_code
        == 400
    )
    assert token_client(decider).post(f"{url}/determine/", body, format="json").json()["state"] == "determined"
    assert exempt_investments(fund) == {failed.pk}
    reexam = pm.post(f"{url}/reexamine/", {"reason": "新证据"}, format="json").json()
    assert reexam["kind"] == "reexamination" and reexam["reexamines"] == case.pk
