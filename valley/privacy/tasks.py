"""Beat's anonymisation of accounts whose deletion grace period has ended (thin: the rules are in services)."""

from celery import shared_task

from valley.privacy import services


@shared_task(name="valley.privacy.anonymise_due")
def anonymise_due() -> int:
    return services.deletion_anonymise_due()
