"""Permissions of the REST API, apart from the rest so that DRF's settings can import them early."""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from valley.core import roles


class AuditorsReadOnly(BasePermission):
    """Auditors read everything and change nothing: every write answers them 403, before any service runs."""

    message = _("Auditors have read-only access.")

    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or not roles.is_auditor(request.user)
