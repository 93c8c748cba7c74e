from django.conf import settings

from valley.core import roles


def portal(request):
    """Navigation facts for the base template: which role-specific links to show."""
    user = request.user
    return {
        "portal_name": settings.PORTAL_NAME,
        "nav": {
            "is_staff_member": roles.is_staff_member(user),
            "is_auditor": roles.is_auditor(user),
            "is_applicant": roles.has_role(user, roles.APPLICANT) and not user.is_superuser,
            "admin": getattr(user, "is_staff", False),
        },
    }
