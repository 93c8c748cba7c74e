"""Benchmark: the failure-tolerance compliance check over a big portfolio, beside a hand-written SQL aggregate.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/valley .venv/bin/python bench/compliance.py
    .venv/bin/python bench/compliance.py --investments 200000 --funds 20 --keep

Creates its own database (DATABASE_URL's name + "_bench_tol", or --database), migrates it, fills
it with generate_series INSERT ... SELECT (1,000,000 investments in 100 funds by default, each with
its standards checklist and five accountable parties), then times:

  1. the check itself, `compliance_check_run_all` (aggregate + report + the exemption cases it opens
     for every fund): from scratch, rerun for the same date, and for the next night's date;
  2. only the check's aggregate step for every fund, as `compliance_check_run_all` runs it: one
     grouped query (`compliance_figures_by_fund`) and, twice, one index lookup per fund in one query
     (`last_investment_changes`);
  3. ONE hand-written SQL aggregate (GROUP BY fund) computing the same counts and sums;
  4. ONE hand-written INSERT ... SELECT of the same case rows the first check opened;

and prints the times and the ratios: the check's aggregate within 2x of (3); the whole first check
within 5x of (4); the rerun and the next night's check (nothing new to open) within 3x of (3).
The database is dropped at the end unless --keep is given.

Before exemption cases (issue 15), measured 2026-11-28 on the 2-core development machine (PostgreSQL 15,
shared with other work), 1,000,000 investments in 100 funds, 5,000,000 parties: building 2.5 min; hand-written GROUP BY
0.69 s; the check's aggregate step for 100 funds 1.15 s (1.66x); the whole check 103 s the first
time (it writes 2,057,000 exemption determinations), 13.4 s rerun for the same date, 12.9 s the
next night (18.6x: the anti-join that finds parties not yet determined dominates); 15 queries per
fund's check whatever its size.

With exemption cases and the batched check (issue 15), 2026-12-04 on the same shared machine: first check
1.45-1.64x the hand-written INSERT ... SELECT of its 411,400 case rows, rerun 1.48-2.07x and next night
1.01-1.42x the hand-written GROUP BY (two runs; bench/RESULTS.md).
"""

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AS_OF = datetime.date(2026, 6, 30)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--investments", type=int, default=1_000_000)
    parser.add_argument("--funds", type=int, default=100)
    parser.add_argument("--startups", type=int, default=10_000)
    parser.add_argument("--database", help="name of the benchmark database (created, and dropped at the end)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timed step; the median is printed")
    parser.add_argument(
        "--build-only",
        action="store_true",
        help="build the data and stop (implies --keep), to measure later with --reuse",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure on the database an earlier --keep/--build-only run left (migrated first), without rebuilding it",
    )
    return parser.parse_args()


def server_urls(args) -> tuple[str, str, str]:
    url = os.environ.get("DATABASE_URL", "")
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        sys.exit("bench/compliance.py needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/valley")
    name = args.database or f"{parsed.path.lstrip('/') or 'valley'}_bench_tol"
    maintenance = urlunparse(parsed._replace(path="/postgres"))
    bench = urlunparse(parsed._replace(path=f"/{name}"))
    return name, maintenance, bench


def recreate_database(maintenance_url: str, name: str, drop_only: bool = False) -> None:
    import psycopg2
    from psycopg2 import sql

    conn = psycopg2.connect(maintenance_url)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if not drop_only:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn.close()


def step(label: str):
    class Timer:
        def __enter__(self):
            self.start = time.perf_counter()
            print(f"  {label} ...", end="", flush=True)
            return self

        def __exit__(self, *exc):
            self.seconds = time.perf_counter() - self.start
            print(f" {self.seconds:.1f}s", flush=True)

    return Timer()


def build(args) -> None:
    from django.db import connection

    from valley.models import FocusArea, Institution, User

    institution = Institution.objects.create(name_zh="基准研究院", name_en="Bench Institute", kind="university")
    area = FocusArea.objects.create(code="bench", name_zh="基准", name_en="Bench")
    confirmer = User.objects.create_user(email="bench-confirmer@example.cn", is_staff=True)
    params = {
        "institution": institution.pk,
        "area": area.pk,
        "confirmer": confirmer.pk,
        "startups": args.startups,
        "funds": args.funds,
        "investments": args.investments,
    }
    with connection.cursor() as cursor:
        with step(f"{args.startups:,} startups"):
            cursor.execute(
                """
                INSERT INTO teams_entity (name_zh, name_en, kind, institution_id, focus_area_id, summary,
                                          contact_email, created_at, updated_at)
                SELECT '基准科技有限公司' || g, 'Bench Startup ' || g, 'startup', %(institution)s, %(area)s,
                       '', '', now(), now()
                FROM generate_series(1, %(startups)s) g
                """,
                params,
            )
        with step(f"{args.funds:,} funds"):
            # Each fund fails at its own rate (from about 20% to about 95%), so verdicts differ.
            cursor.execute(
                """
                INSERT INTO tolerance_fund (name_zh, name_en, manager, entrusted_institution, size,
                                            tolerance_threshold, governing_basis, warning_level, created_at)
                SELECT '基准基金' || g, 'Bench Fund ' || g, '基准管理公司', '基准受托机构', 1000000000.00,
                       80.00, CASE WHEN mod(g, 2) = 0 THEN 'count' ELSE 'amount' END, 70.00, now()
                FROM generate_series(1, %(funds)s) g
                """,
                params,
            )
        with step(f"{args.investments:,} investments with their checklists (5% with a gap)"):
            cursor.execute(
                """
                INSERT INTO tolerance_investment (
                    fund_id, startup_id, invested_on, principal, stake, state, recovered, co_investment,
                    failure_kind, failed_on,
                    note, created_at, updated_at,
                    decision_procedure, decision_procedure_evidence, decision_procedure_confirmed_by_id,
                    due_diligence, due_diligence_evidence, due_diligence_confirmed_by_id,
                    risks_disclosed, risks_disclosed_evidence, risks_disclosed_confirmed_by_id,
                    no_conflict, no_conflict_evidence, no_conflict_confirmed_by_id,
                    no_fraud, no_fraud_evidence, no_fraud_confirmed_by_id)
                SELECT f.id, s.first_id + mod(g, %(startups)s), DATE '2024-01-01' + mod(g, 365),
                       p.principal, 5.00,
                       CASE WHEN x.failed THEN 'failed' WHEN mod(g, 17) = 0 THEN 'exited' ELSE 'active' END,
                       CASE WHEN x.failed THEN round(p.principal * 0.1, 2)
                            WHEN mod(g, 17) = 0 THEN p.principal * 2 ELSE 0 END,
                       0,
                       CASE WHEN x.failed THEN 'liquidated' ELSE '' END,
                       CASE WHEN x.failed THEN DATE '2024-01-01' + mod(g, 365) + 200 END,
                       '', now(), now(),
                       true, '纪要', %(confirmer)s, true, '报告', %(confirmer)s,
                       true, '提示书', %(confirmer)s, true, '申报表', %(confirmer)s,
                       mod(g, 20) <> 0, CASE WHEN mod(g, 20) <> 0 THEN '核查意见' ELSE '' END,
                       CASE WHEN mod(g, 20) <> 0 THEN %(confirmer)s END
                FROM generate_series(1, %(investments)s) g
                CROSS JOIN (SELECT min(id) AS first_id FROM teams_entity) s
                CROSS JOIN (SELECT min(id) AS first_id FROM tolerance_fund) fbase
                CROSS JOIN LATERAL (SELECT fbase.first_id + mod(g, %(funds)s) AS id) f
                CROSS JOIN LATERAL (SELECT (500000 + mod(g::bigint * 7919, 9500000))::numeric(14, 2) AS principal) p
                CROSS JOIN LATERAL (
                    SELECT mod((g / %(funds)s) * 7919, 100) < 20 + mod(mod(g, %(funds)s) * 7, 76) AS failed
                ) x
                """,
                params,
            )
        with step(f"{5 * args.investments:,} accountable parties"):
            cursor.execute(
                """
                INSERT INTO tolerance_investmentparty (investment_id, role, organisation, person, position)
                SELECT i.id, r.role, r.organisation, '', ''
                FROM tolerance_investment i
                CROSS JOIN (VALUES ('decision_body', '决策委员会'), ('supervisory', '科学技术厅'),
                                   ('representative', '投资代表'), ('entrusted', '受托机构'),
                                   ('practitioner', '投资经理')) AS r(role, organisation)
                """,
                params,
            )
        with step("VACUUM ANALYZE"):
            for table in ("tolerance_investment", "tolerance_investmentparty"):
                cursor.execute(f"VACUUM ANALYZE {table}")


HAND_WRITTEN_SQL = """
    SELECT fund_id,
           count(*) AS investments,
           count(*) FILTER (WHERE meets_standards) AS qualifying,
           count(*) FILTER (WHERE meets_standards AND state = 'failed' AND failed_on <= %(as_of)s) AS failed,
           coalesce(sum(principal) FILTER (WHERE meets_standards), 0) AS principal,
           coalesce(sum(principal - recovered)
                    FILTER (WHERE meets_standards AND state = 'failed' AND failed_on <= %(as_of)s), 0) AS loss
    FROM tolerance_investment
    WHERE invested_on <= %(as_of)s
    GROUP BY fund_id
"""


# The same case rows the check's first run opens, written by hand: every failed qualifying investment of a
# fund whose report for the date is not a breach, with that report and its governing rate.
HAND_WRITTEN_CASES_SQL = """
    INSERT INTO tolerance_exemptioncase (investment_id, kind, reexamines_id, report_id, governing_basis,
        governing_rate, opened_by_check, opened_by_id, reason, state, opened_at, state_changed_at)
    SELECT i.id, 'original', NULL, r.id, r.governing_basis,
           CASE WHEN r.governing_basis = 'amount' THEN r.rate_by_amount ELSE r.rate_by_count END,
           TRUE, NULL, '', 'opened', now(), now()
    FROM tolerance_investment i
    JOIN tolerance_compliancereport r ON r.fund_id = i.fund_id AND r.as_of = %(as_of)s
    WHERE r.verdict <> 'breach' AND i.invested_on <= %(as_of)s AND i.meets_standards
      AND i.state = 'failed' AND i.failed_on <= %(as_of)s
"""


def clear_cases() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE tolerance_caseevent, tolerance_exemptioncase CASCADE")


def timed(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(args) -> None:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from tolerance import selectors
    from tolerance.models import ComplianceReport, ExemptionCase, Fund, Verdict
    from tolerance.services import compliance_check_run, compliance_check_run_all

    funds = list(Fund.objects.order_by("pk"))

    def check_all(as_of=AS_OF):
        compliance_check_run_all(as_of=as_of)

    def aggregate_all():
        # What compliance_check_run_all runs: one grouped aggregate for every fund (after one query of
        # their last investment changes), then under the locks that query again, to tell whether the
        # figures still hold.
        figures = selectors.compliance_figures_by_fund(fund_ids=[fund.pk for fund in funds], as_of=AS_OF)
        changes = selectors.last_investment_changes(fund_ids=[fund.pk for fund in funds])
        assert all(changes[fund.pk] == figures[fund.pk].last_change for fund in funds)
        return [figures[fund.pk] for fund in funds]

    def hand_written():
        with connection.cursor() as cursor:
            cursor.execute(HAND_WRITTEN_SQL, {"as_of": AS_OF})
            return cursor.fetchall()

    # Same answers first: the benchmark compares equal work.
    by_hand = {row[0]: row[1:] for row in hand_written()}
    for fund, figures in zip(funds, aggregate_all(), strict=True):
        expected = by_hand[fund.pk]
        got = (
            figures.investment_count,
            figures.qualifying_count,
            figures.failed_count,
            figures.qualifying_principal,
            figures.qualifying_loss,
        )
        assert got == tuple(expected), (fund.pk, got, expected)

    reset_queries()
    with CaptureQueriesContext(connection) as one_check:
        compliance_check_run(fund=funds[0], as_of=AS_OF)

    print(f"timing (median of {args.repeat} runs, the whole check once):")
    hand = timed(hand_written, args.repeat)
    print(f"  hand-written SQL, one GROUP BY over all {args.investments:,} investments: {hand:.2f}s")
    aggregate = timed(aggregate_all, args.repeat)
    print(f"  the check's aggregate step, {len(funds)} funds (one grouped query):     {aggregate:.2f}s")
    clear_cases()
    ComplianceReport.objects.all().delete()
    full = timed(check_all, 1)
    opened = ExemptionCase.objects.count()
    print(f"  the whole check, {len(funds)} funds, first run (opens {opened:,} cases):  {full:.2f}s")
    rerun = timed(check_all, 1)
    print(f"  the whole check rerun for the same date (nothing new):              {rerun:.2f}s")
    next_night = timed(lambda: check_all(AS_OF + datetime.timedelta(days=1)), 1)
    print(f"  the next night's check (new reports, no new failures):              {next_night:.2f}s")
    assert ExemptionCase.objects.count() == opened  # neither opened anything twice

    def insert_by_hand():
        clear_cases()  # not timed apart: TRUNCATE of the table is instant beside the INSERT
        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(HAND_WRITTEN_CASES_SQL, {"as_of": AS_OF})
            written = cursor.rowcount
        elapsed = time.perf_counter() - start
        assert written == opened, (written, opened)  # the same case rows
        return elapsed

    hand_insert = statistics.median(insert_by_hand() for _ in range(args.repeat))
    print(f"  hand-written INSERT ... SELECT of the same {opened:,} case rows:        {hand_insert:.2f}s")
    verdicts = dict.fromkeys(Verdict.values, 0)
    for verdict in ComplianceReport.objects.values_list("verdict", flat=True):
        verdicts[verdict] += 1
    print(
        f"results: {ComplianceReport.objects.count()} reports ({verdicts}), {opened:,} exemption cases; "
        f"{len(one_check.captured_queries)} queries per fund's check"
    )
    print(f"ratio aggregate step / hand-written SQL: {aggregate / hand:.2f}x (target <= 2x)")
    print(f"ratio first whole check / hand-written INSERT ... SELECT: {full / hand_insert:.2f}x (target <= 5x)")
    print(f"ratio rerun / hand-written GROUP BY: {rerun / hand:.2f}x (target <= 3x)")
    print(f"ratio next night's whole check / hand-written GROUP BY: {next_night / hand:.2f}x (target <= 3x)")


def main() -> int:
    args = parse_args()
    name, maintenance, bench_url = server_urls(args)
    print(f"benchmark database: {name} ({args.investments:,} investments in {args.funds} funds)")
    if args.build_only:
        args.keep = True
    if not args.reuse:
        recreate_database(maintenance, name)
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valley.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # DEBUG off, so Django does not keep every query in memory while the clock runs.
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    try:
        with step("migrate"):
            call_command("migrate", verbosity=0)
        if not args.reuse:
            print("building the data:")
            build(args)
        if not args.build_only:
            measure(args)
    finally:
        connections.close_all()
        if not args.keep:
            recreate_database(maintenance, name, drop_only=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
