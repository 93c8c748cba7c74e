"""The teams app's scheduled work: thin tasks over teams.service_requests, safe to run twice."""

from celery import shared_task

from teams import service_requests


@shared_task(name="teams.tasks.flag_overdue_service_requests")
def flag_overdue_service_requests() -> int:
    """Beat, hourly in working hours: flag overdue service requests and mail each line's lead once per request."""
    return service_requests.service_requests_flag_overdue()


@shared_task(name="teams.tasks.auto_close_service_requests")
def auto_close_service_requests() -> int:
    """Beat: close resolved requests left unrated for SERVICE_AUTO_CLOSE_WORKING_DAYS working days."""
    return service_requests.service_requests_auto_close()
