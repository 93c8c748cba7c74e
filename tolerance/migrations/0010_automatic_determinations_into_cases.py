"""Put every determination the compliance check wrote by itself (before cases) into a case opened by the check.

One original case per investment that has any, opened when the first of them was written and relying on
that report, still to be decided: under the new rule nobody is exempt before people determine it, so the
rows are kept as they were (marked `automatic`, with their withdrawals) and make nobody exempt. Each case
gets its opening event, which says where it came from. No row is deleted or rewritten beyond those marks.
"""

from django.db import migrations
from django.db.models import Min, OuterRef, Subquery

OPENED_COMMENT = (
    "Opened by the compliance check: moved from the exemption determinations the check used to record by itself "
    "(kept with the case as history; they exempt nobody until the case is determined)."
)


def forwards(apps, schema_editor):
    Determination = apps.get_model("tolerance", "ExemptionDetermination")
    Case = apps.get_model("tolerance", "ExemptionCase")
    Event = apps.get_model("tolerance", "CaseEvent")
    Report = apps.get_model("tolerance", "ComplianceReport")

    firsts = (
        Determination.objects.order_by()
        .values("investment_id")
        .annotate(first_at=Min("determined_at"), first_report=Min("report_id"))
        .order_by("investment_id")
    )
    reports = Report.objects.in_bulk([row["first_report"] for row in firsts])
    cases = []
    for row in firsts:
        report = reports.get(row["first_report"])
        rate = None
        if report is not None:
            rate = report.rate_by_amount if report.governing_basis == "amount" else report.rate_by_count
        cases.append(
            Case(
                investment_id=row["investment_id"],
                kind="original",
                report=report,
                governing_basis=report.governing_basis if report else "",
                governing_rate=rate,
                opened_by_check=True,
                state="opened",
                opened_at=row["first_at"],
                state_changed_at=row["first_at"],
            )
        )
    Case.objects.bulk_create(cases, batch_size=2000)
    Event.objects.bulk_create(
        [
            Event(
                case=case,
                action="tolerance.exemption_case.opened",
                from_state="",
                to_state="opened",
                at=case.opened_at,
                comment=OPENED_COMMENT,
            )
            for case in Case.objects.filter(opened_by_check=True, kind="original").only("pk", "opened_at")
        ],
        batch_size=2000,
    )
    Determination.objects.update(
        automatic=True,
        case_id=Subquery(
            Case.objects.filter(investment_id=OuterRef("investment_id"), kind="original").values("pk")[:1]
        ),
    )


class Migration(migrations.Migration):
    dependencies = [("tolerance", "0009_exemption_cases")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
