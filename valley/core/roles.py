"""The one place that says what each role may do.

Roles are Django groups. `sync_roles()` makes the groups and their model permissions
match ROLES exactly; it runs after every `migrate` and by `manage.py sync_roles`, and is
safe to run any number of times. Object-level rules (an applicant sees only their own
entities, an operator only their sub-venues) live in each app's selectors and use the
helpers below.
"""

from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from django.db import transaction
from django.utils.translation import gettext_lazy as _

PROVINCIAL_STAFF = "provincial_staff"
SUB_VENUE_OPERATOR = "sub_venue_operator"
REVIEWER = "reviewer"
APPROVER = "approver"
REGISTRATION_OFFICER = "registration_officer"
FINANCE_OFFICER = "finance_officer"
PORTFOLIO_MANAGER = "portfolio_manager"
EXEMPTION_SUPERVISOR = "exemption_supervisor"
EXEMPTION_DECISION_MAKER = "exemption_decision_maker"
SERVICE_LINE_STAFF = "service_line_staff"
APPLICANT = "applicant"
AUDITOR = "auditor"

# Accounts are not records of the valley: nobody reads them through a role (admins are superusers).
# Nor are consents and deletion requests: they are the person's own (valley.privacy).
_READ_ALL = [
    "valley.view_*",
    "!valley.view_user",
    "!valley.view_consent",
    "!valley.view_deletionrequest",
    "teams.view_*",
    "funding.view_*",
    "tolerance.view_*",
]


@dataclass(frozen=True)
class Role:
    code: str
    label: str
    description: str
    is_staff: bool
    # "app_label.codename" patterns; * matches any part of a codename; a leading ! takes matches away.
    permissions: list[str] = field(default_factory=list)


ROLES: dict[str, Role] = {
    role.code: role
    for role in [
        Role(
            PROVINCIAL_STAFF,
            _("Provincial staff"),
            _("Runs the valley: sub-venues, institutions, teams and residencies in every sub-venue."),
            True,
            [
                *_READ_ALL,
                "valley.add_*",
                "valley.change_*",
                "teams.add_*",
                "teams.change_*",
                "!valley.add_user",  # accounts are kept by superusers: changing one could grant any role
                "!valley.change_user",
                "!valley.*_consent",  # written by the person's own acceptance, never by staff
                "!valley.*_deletionrequest",
                "teams.delete_member",
                "teams.delete_document",
                "valley.delete_calendarday",  # a day entered by mistake
                "funding.add_fundpolicy",
                "funding.add_subvenuebudget",
                "funding.change_subvenuebudget",
            ],
        ),
        Role(
            SUB_VENUE_OPERATOR,
            _("Sub-venue operator"),
            _("Does the staff work, but only for the sub-venues assigned to them."),
            True,
            [*_READ_ALL, "teams.add_*", "teams.change_*"],
        ),
        Role(
            REVIEWER,
            _("Reviewer"),
            _("Checks applications for completeness and gives expert reviews."),
            True,
            [*_READ_ALL],
        ),
        Role(APPROVER, _("Approver"), _("Decides start-up fund applications."), True, [*_READ_ALL]),
        Role(
            REGISTRATION_OFFICER,
            _("Registration officer"),
            _("Verifies and completes company registration on the entity's behalf."),
            True,
            [*_READ_ALL, "teams.add_registration", "teams.change_registration"],
        ),
        Role(
            FINANCE_OFFICER,
            _("Finance officer"),
            _("Records disbursements and keeps sub-venue budgets."),
            True,
            [*_READ_ALL, "funding.add_subvenuebudget", "funding.change_subvenuebudget"],
        ),
        Role(
            PORTFOLIO_MANAGER,
            _("Portfolio manager"),
            _("Keeps the equity-investment portfolio and acts on compliance alerts."),
            True,
            [
                *_READ_ALL,
                "tolerance.add_*",
                "tolerance.change_*",
                "tolerance.delete_investmentparty",
                "tolerance.delete_investmentdocument",
            ],
        ),
        Role(
            EXEMPTION_SUPERVISOR,
            _("Business supervisory department"),
            _("Gives the supervisory department's opinion on exemption cases."),
            True,
            [*_READ_ALL],
        ),
        Role(
            EXEMPTION_DECISION_MAKER,
            _("Decision-making body"),
            _("Determines exemption cases: exempt or not, per party, with the meeting date and document number."),
            True,
            [*_READ_ALL],
        ),
        Role(
            SERVICE_LINE_STAFF,
            _("Service-line staff"),
            _("Accepts, works and resolves residents' service requests, only for the service lines assigned to them."),
            True,
            [*_READ_ALL],
        ),
        Role(
            APPLICANT,
            _("Applicant"),
            _("A research team or startup that keeps its profile and applies for the fund."),
            False,
            [],
        ),
        Role(
            AUDITOR, _("Auditor"), _("Reads every record and downloads exports; changes nothing."), True, [*_READ_ALL]
        ),
    ]
}

STAFF_ROLES = frozenset(code for code, role in ROLES.items() if role.is_staff and code != AUDITOR)


def resolve_permissions(patterns: list[str], available: dict[tuple[str, str], int]) -> set[int]:
    """Ids of the permissions matched by `patterns`, from {(app_label, codename): id}."""
    ids: set[int] = set()
    for pattern in patterns:
        exclude = pattern.startswith("!")
        app_label, _dot, code_pattern = pattern.removeprefix("!").partition(".")
        matched = {
            pk for (app, codename), pk in available.items() if app == app_label and fnmatchcase(codename, code_pattern)
        }
        ids = ids - matched if exclude else ids | matched
    return ids


@transaction.atomic
def sync_roles() -> dict[str, int]:
    """Create or update one group per role with exactly its permissions. Returns {role: permission count}."""
    from django.contrib.auth.models import Group, Permission

    available = {
        (app, codename): pk
        for pk, app, codename in Permission.objects.values_list("pk", "content_type__app_label", "codename")
    }
    counts = {}
    for code, role in ROLES.items():
        group, _created = Group.objects.get_or_create(name=code)
        wanted = resolve_permissions(role.permissions, available)
        group.permissions.set(wanted)
        counts[code] = len(wanted)
    return counts


def roles_granting(permission: str) -> frozenset[str]:
    """The role codes whose ROLES entry grants "app_label.codename" (no query: read from the patterns)."""
    app_label, _dot, codename = permission.partition(".")
    return frozenset(
        code for code, role in ROLES.items() if resolve_permissions(role.permissions, {(app_label, codename): 1})
    )


def role_codes(user) -> frozenset[str]:
    """The user's role codes, read once per user object (one query) and then remembered."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_valley_role_codes", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._valley_role_codes = cached
    return cached


def emails_of(role_code: str) -> list[str]:
    """The addresses of the active holders of a role, sorted, for the mails every app sends to a role
    (portfolio managers' alerts, the auditors' audit anchors). One query."""
    from django.contrib.auth import get_user_model

    holders = get_user_model().objects.filter(groups__name=role_code, is_active=True).exclude(email="")
    return list(holders.values_list("email", flat=True).distinct().order_by("email"))


def has_role(user, *codes: str) -> bool:
    if getattr(user, "is_superuser", False):
        return True
    return bool(role_codes(user).intersection(codes))


def is_staff_member(user) -> bool:
    """Provincial staff or any staff sub-role (not auditors, not applicants)."""
    return has_role(user, *STAFF_ROLES)


def is_auditor(user) -> bool:
    return not getattr(user, "is_superuser", False) and AUDITOR in role_codes(user)
