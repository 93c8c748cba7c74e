from decimal import Decimal

from django.db import migrations


def create_initial_policy(apps, schema_editor):
    FundPolicy = apps.get_model("funding", "FundPolicy")
    if not FundPolicy.objects.exists():
        FundPolicy.objects.create(
            min_amount=Decimal("300000.00"),
            max_amount=Decimal("1000000.00"),
            max_paid_in_share=Decimal("0.500"),
            notice_days=7,
            reason="Policy defaults: 300,000–1,000,000 yuan, at most 50% of paid-in capital.",
        )


class Migration(migrations.Migration):
    dependencies = [("funding", "0001_initial")]
    operations = [migrations.RunPython(create_initial_policy, migrations.RunPython.noop)]
