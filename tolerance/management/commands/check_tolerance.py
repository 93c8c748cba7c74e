import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tolerance.models import Fund
from tolerance.services import compliance_check_run_many
from valley.templatetags.valley_format import percent


def _as_of(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--as-of {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-06-30.") from None


class Command(BaseCommand):
    help = (
        "Run the failure-tolerance compliance check now, for one fund or every fund, as of a date "
        "(default: today). Safe to repeat: the report for that fund and date is updated in place."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fund", type=int, metavar="ID", help="Only this fund (its id, as in the admin).")
        parser.add_argument("--as-of", metavar="YYYY-MM-DD", help="The date the check is made as of.")

    def handle(self, *args, fund=None, as_of=None, **options):
        today = timezone.localdate()
        day = _as_of(as_of) if as_of else today
        if day > today:
            raise CommandError(
                f"--as-of {day} is in the future; a check can only be made as of today ({today}) or before."
            )
        funds = Fund.objects.order_by("pk")
        if fund is not None:
            funds = funds.filter(pk=fund)
            if not funds.exists():
                known = ", ".join(str(pk) for pk in Fund.objects.order_by("pk").values_list("pk", flat=True)[:20])
                raise CommandError(f"There is no fund with id {fund}. Known fund ids: {known or 'none yet'}.")
        for report in compliance_check_run_many(funds=funds, as_of=day):
            item = report.fund
            self.stdout.write(
                f"{item.pk} {item.name_en}: {report.verdict} as of {day} "
                f"(by count {percent(report.rate_by_count)}, by amount {percent(report.rate_by_amount)}, "
                f"governing {report.governing_basis}; {report.cases_opened} exemption case(s) opened)"
            )
