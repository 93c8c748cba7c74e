from celery import shared_task

from funding import services


@shared_task
def end_public_notices() -> list[int]:
    """Beat: move approved applications on to registration when their notice period has ended."""
    return services.public_notices_end_due()
