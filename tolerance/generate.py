"""The failure-tolerance part of the province generator (valley.ops.generator): funds and their investments
in the generated startups: about 30% failed, 5% exited, and one in twenty lacks its no-fraud check."""

import datetime
from decimal import Decimal

from tolerance.models import Fund, GoverningBasis, Investment
from valley.ops.generator import Province


def generate(province: Province) -> None:
    """Reads "startup_ids" and "staff_user" (who confirmed the conditions)."""
    funds, n = province.sizes["funds"], province.sizes["investments"]
    province.log(f"{funds} funds with {n:,} investments")
    fund_rows = Fund.objects.bulk_create(
        Fund(
            name_zh=f"晋创天使基金{i:03d}",
            name_en=f"Valley Angel Fund {i:03d}",
            manager="山西省创业投资管理公司",
            entrusted_institution="山西省受托管理机构",
            size=Decimal("1000000000.00"),
            governing_basis=GoverningBasis.COUNT if i % 2 else GoverningBasis.AMOUNT,
        )
        for i in range(funds)
    )
    fund_ids = [fund.pk for fund in fund_rows]
    rnd = province.random
    confirmer = province.made["staff_user"].pk
    startups = province.made["startup_ids"]
    created = province.at(400)
    S = Investment.State

    def rows():
        for i in range(n):
            invested = datetime.date(2024, 1, 1) + datetime.timedelta(days=rnd.randrange(700))
            principal = Decimal(rnd.randrange(500, 10_000) * 1000)
            roll = rnd.random()
            failed = roll < 0.3
            state = S.FAILED if failed else (S.EXITED if roll < 0.35 else S.ACTIVE)
            recovered = principal / 10 if failed else (principal * 2 if state == S.EXITED else Decimal(0))
            meets = i % 20 != 0
            yield (
                fund_ids[i % len(fund_ids)],
                startups[rnd.randrange(len(startups))],
                invested,
                principal,
                Decimal("5.00"),
                state,
                recovered,
                principal * rnd.randrange(0, 3),  # co-investors put in up to twice the fund's principal
                Investment.FailureKind.LIQUIDATED if failed else "",
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

    columns = ["fund_id", "startup_id", "invested_on", "principal", "stake", "state", "recovered", "co_investment"]
    columns += ["failure_kind", "failed_on", "note", "created_at", "updated_at"]
    for code in ("decision_procedure", "due_diligence", "risks_disclosed", "no_conflict", "no_fraud"):
        columns += [code, f"{code}_evidence", f"{code}_confirmed_by_id"]
    province.copy("tolerance_investment", columns, rows())
