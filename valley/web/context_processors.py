from django.conf import settings

from valley.accounts import sessions
from valley.core import roles


def portal(request):
    """Navigation facts for the base template: which role-specific links to show."""
    user = request.user
    return {
        "portal_name": settings.PORTAL_NAME,
        # The session's warning before it ends, and a form posted when it ran out (static/js/session.js).
        "session_seconds_left": sessions.seconds_left(request),
        "restored_form": sessions.restored_form(request),
        "nav": {
            "is_staff_member": roles.is_staff_member(user),
            "is_auditor": roles.is_auditor(user),
            "is_applicant": roles.has_role(user, roles.APPLICANT) and not user.is_superuser,
            "admin": getattr(user, "is_staff", False),
        },
    }
