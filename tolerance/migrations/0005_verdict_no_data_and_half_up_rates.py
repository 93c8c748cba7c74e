"""A fund with no qualifying investment has the verdict "no data" and no rates; rates are rounded half-up
and verdicts decided on exact fractions.

Every existing report is brought in line from the figures it keeps (failed and qualifying counts, loss
and principal, and the policy copied into it): a report with no qualifying investment (which said
"within tolerance" at 0.00%) becomes "no data" with empty rates; the rates of the others are rounded
half-up instead of up (2 of 9 failed was 22.23%, now 22.22%); and the verdict is decided on the exact
fraction, which changes only a report whose exact rate was below the warning level by less than a
hundredth (rounded up onto it, it said "warning"; it is within tolerance). Breaches cannot change:
rounding up never moved a rate across a threshold of two decimals. Written in the same transaction as
the constraints that then hold every report to it.
"""

import decimal
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import migrations, models

HUNDREDTH = Decimal("0.01")
BATCH = 2000


def _rate(part, whole):
    with decimal.localcontext() as context:
        context.prec = 40
        return (Decimal(part) * 100 / Decimal(whole)).quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def _verdict(part, whole, threshold, warning):
    # As tolerance.services.verdict_for decides it today (a copy: a migration must not follow later code).
    part, whole = Decimal(part), Decimal(whole)
    if part * 100 > threshold * whole:
        return "breach"
    if part * 100 >= warning * whole:
        return "warning"
    return "within"


def recompute(apps, schema_editor):
    ComplianceReport = apps.get_model("tolerance", "ComplianceReport")
    changed = []
    for report in ComplianceReport.objects.order_by("pk").iterator(chunk_size=BATCH):
        before = (report.verdict, report.rate_by_count, report.rate_by_amount)
        if report.qualifying_count == 0:
            report.verdict, report.rate_by_count, report.rate_by_amount = "no_data", None, None
        else:
            report.rate_by_count = _rate(report.failed_count, report.qualifying_count)
            report.rate_by_amount = _rate(report.qualifying_loss, report.qualifying_principal)
            part, whole = (
                (report.qualifying_loss, report.qualifying_principal)
                if report.governing_basis == "amount"
                else (report.failed_count, report.qualifying_count)
            )
            report.verdict = _verdict(part, whole, report.tolerance_threshold, report.warning_level)
        if (report.verdict, report.rate_by_count, report.rate_by_amount) != before:
            changed.append(report)
        if len(changed) >= BATCH:
            ComplianceReport.objects.bulk_update(changed, ["verdict", "rate_by_count", "rate_by_amount"])
            changed = []
    ComplianceReport.objects.bulk_update(changed, ["verdict", "rate_by_count", "rate_by_amount"])


def restore(apps, schema_editor):
    """Back to the old columns' rule: "no data" becomes "within" at 0.00% (the rest stays half-up)."""
    ComplianceReport = apps.get_model("tolerance", "ComplianceReport")
    ComplianceReport.objects.filter(verdict="no_data").update(
        verdict="within", rate_by_count=Decimal("0.00"), rate_by_amount=Decimal("0.00")
    )


class Migration(migrations.Migration):

    dependencies = [
        ('tolerance', '0004_exemption_withdrawals'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='compliancereport',
            name='report_verdict_valid',
        ),
        migrations.AlterField(
            model_name='compliancereport',
            name='rate_by_amount',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=5, null=True, verbose_name='failure rate by amount (%)'),
        ),
        migrations.AlterField(
            model_name='compliancereport',
            name='rate_by_count',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=5, null=True, verbose_name='failure rate by count (%)'),
        ),
        migrations.AlterField(
            model_name='compliancereport',
            name='verdict',
            field=models.CharField(choices=[('within', 'within tolerance'), ('warning', 'warning'), ('breach', 'breach'), ('no_data', 'no data')], max_length=8, verbose_name='verdict'),
        ),
        migrations.AddConstraint(
            model_name='compliancereport',
            constraint=models.CheckConstraint(condition=models.Q(('verdict__in', ['within', 'warning', 'breach', 'no_data'])), name='report_verdict_valid'),
        ),
        migrations.RunPython(recompute, restore, elidable=False),
        migrations.AddConstraint(
            model_name='compliancereport',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('qualifying_count', 0), ('rate_by_amount__isnull', True), ('rate_by_count__isnull', True), ('verdict', 'no_data')), models.Q(('qualifying_count__gt', 0), ('rate_by_amount__isnull', False), ('rate_by_count__isnull', False), models.Q(('verdict', 'no_data'), _negated=True)), _connector='OR'), name='report_no_data_iff_no_qualifying'),
        ),
    ]
