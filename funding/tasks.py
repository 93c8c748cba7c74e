from celery import shared_task

from funding import reminders, services


@shared_task
def end_public_notices() -> list[int]:
    """Beat: move approved applications on to registration when their notice period has ended."""
    return services.public_notices_end_due()


@shared_task(name="funding.tasks.send_report_reminders")
def send_report_reminders() -> int:
    """Beat, hourly from 08:00 to 18:00 (FUNDING_REMINDER_SECONDS: every N seconds): the fund-use report
    reminders due today, each sent once however often this runs. Returns how many went out."""
    return len(reminders.report_reminders_send())
