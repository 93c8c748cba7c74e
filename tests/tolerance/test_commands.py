"""manage.py check_tolerance: one fund or all, as of a date, safe to repeat, clear about bad input."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import FundFactory, InvestmentFactory
from tolerance.models import ComplianceReport


def run(*args) -> str:
    out = StringIO()
    call_command("check_tolerance", *args, stdout=out)
    return out.getvalue()


def test_one_fund_as_of_a_date_twice_leaves_one_report(db):
    fund, other = FundFactory(), FundFactory()
    InvestmentFactory(fund=fund, failed=True)
    output = run("--fund", str(fund.pk), "--as-of", "2026-06-30")
    run("--fund", str(fund.pk), "--as-of", "2026-06-30")
    assert "breach as of 2026-06-30" in output
    assert list(ComplianceReport.objects.values_list("fund", "as_of")) == [(fund.pk, datetime.date(2026, 6, 30))]
    assert not other.reports.exists()


def test_every_fund_today_by_default(db):
    FundFactory.create_batch(3)
    run()
    assert ComplianceReport.objects.count() == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "30/06/2026"], "YYYY-MM-DD"),
        (["--fund", "424242"], "no fund with id 424242"),
        (["--as-of", "2999-01-01"], "in the future"),
    ],
)
def test_bad_input_says_what_to_fix(db, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not ComplianceReport.objects.exists()
