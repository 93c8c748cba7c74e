"""Messages of Django's admin that its own Chinese catalogue leaves in English (the app list's table headers,
hidden on screen, read out by screen readers). Marked here so that makemessages keeps them in the portal's
catalogue, which Django reads before its own (LOCALE_PATHS)."""

from django.utils.translation import gettext_noop

ADMIN_TABLE_HEADERS = (
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
)
