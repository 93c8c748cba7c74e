"""The permission matrix: every URL of the portal × every role, with the answer each role must get.

How to add a row (one line). A URL, schema operation or admin model with no row fails
`test_every_url_and_operation_has_a_row`, which names it and says which table to add it to.

- A web page: add to PAGES, keyed by the URL's name ("app:name"; for an unnamed pattern, "route:<its route>"):

      "funding:detail": Page(("application",), get=E(OK, anonymous=LOGIN, applicant_b=NOT_FOUND, operator_y=NOT_FOUND)),

  `args` are keys of the shared data set (`build_data`), in the URL's order (objects become their pk; strings
  such as "queue" are data entries too). `get=` is always tried; `post=` (with `body`, empty by default) for
  forms and actions. `path=` gives a literal path for unnamed patterns.
- An API operation: add to API, keyed by (method, path) exactly as in the OpenAPI schema, with the data key that
  fills `{id}` (and `{name}`, if any): ("GET", "/api/entities/{id}/"): Api(E(...), "entity").
- A model registered in the Django admin: add to ADMIN, keyed "app_label.model_name", with the data key of one
  of its objects. The answers are derived from the roles' model permissions in valley/roles.py; say where the
  ModelAdmin deliberately differs (add/change/delete=False: nobody does that here, not even a superuser;
  scoped=True: operators see only their sub-venues' rows, so operator_y gets "not found" for an object in
  sub-venue X; not_for=roles: the ModelAdmin refuses those roles' add/change in spite of their permissions;
  superusers_only=True: nobody but a superuser sees it, whatever their permissions).
  Each model is tried with changelist, add (GET, POST), change (GET, POST), delete (POST), history and the
  bare object URL.

E(default, role=..., group=...) gives the expected outcome per role: a role's own entry wins over its group's
(applicants, operators, staff) and the group's over the default. Outcomes:

  OK           200/201/204, a 400/409 (the view ran and refused the input), or a redirect elsewhere than a login page
  LOGIN        a redirect to the portal's or the admin's login page, or 401 from the API
  FORBIDDEN    403
  NOT_FOUND    404, or the admin's "no such object" redirect to its index (existence is hidden)
  NOT_ALLOWED  405 (the method is not accepted at all)

A POST that reaches the view counts as OK even when the service then refuses it with a message (wrong
state, invalid form): the matrix checks who gets through the door; the services' own tests check what they
allow. Every object in the data set belongs to applicant A and lives in sub-venue X; applicant B and the
operator of sub-venue Y are "another owner" for all of them. Shared answers (SEES_A, EDITS_A, TAKES(...), ...)
are defined just above PAGES; `pytest tests/valley/test_permission_matrix.py -s` prints where the Markdown
summary (URL · method × role, the answers actually seen) was written.
"""

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.contrib import messages
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from valley.core import roles

OK = "ok"
LOGIN = "login"
FORBIDDEN = "forbidden"
NOT_FOUND = "not_found"
NOT_ALLOWED = "not_allowed"
ERROR = "error"

ROLES = (
    "anonymous",
    "applicant_a",
    "applicant_b",
    "provincial_staff",
    "operator_x",
    "operator_y",
    "reviewer",
    "approver",
    "registration_officer",
    "finance_officer",
    "portfolio_manager",
    "service_staff_x",
    "auditor",
    "superuser",
)
# The role (group) each test user holds; anonymous and the superuser hold none.
ROLE_GROUP = {
    "applicant_a": roles.APPLICANT,
    "applicant_b": roles.APPLICANT,
    "provincial_staff": roles.PROVINCIAL_STAFF,
    "operator_x": roles.SUB_VENUE_OPERATOR,
    "operator_y": roles.SUB_VENUE_OPERATOR,
    "reviewer": roles.REVIEWER,
    "approver": roles.APPROVER,
    "registration_officer": roles.REGISTRATION_OFFICER,
    "finance_officer": roles.FINANCE_OFFICER,
    "portfolio_manager": roles.PORTFOLIO_MANAGER,
    "service_staff_x": roles.SERVICE_LINE_STAFF,  # staff of the data set's service line
    "auditor": roles.AUDITOR,
}
GROUPS = {
    "applicants": ("applicant_a", "applicant_b"),
    "operators": ("operator_x", "operator_y"),
    "staff": (
        "provincial_staff",
        "operator_x",
        "operator_y",
        "reviewer",
        "approver",
        "registration_officer",
        "finance_officer",
        "portfolio_manager",
        "service_staff_x",
    ),
}


def E(default: str, **by_role: str) -> dict[str, str]:
    """The expected outcome for every role: by_role entries (roles or groups) override the default."""
    unknown = set(by_role) - set(ROLES) - set(GROUPS)
    if unknown:
        raise ValueError(f"unknown roles or groups: {sorted(unknown)}")
    expected = dict.fromkeys(ROLES, default)
    for group, members in GROUPS.items():
        if group in by_role:
            expected.update(dict.fromkeys(members, by_role[group]))
    expected.update({role: outcome for role, outcome in by_role.items() if role in ROLES})
    return expected


@dataclass(frozen=True)
class Page:
    args: tuple[str, ...] = ()
    get: dict[str, str] | None = None
    post: dict[str, str] | None = None
    body: dict = field(default_factory=dict)
    path: str | None = None


@dataclass(frozen=True)
class Api:
    expect: dict[str, str]
    id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class AdminModel:
    obj: str
    add: bool = True
    change: bool = True
    delete: bool = True
    scoped: bool = False
    not_for: tuple[str, ...] = ()  # roles whose add/change the ModelAdmin refuses in spite of their permissions
    superusers_only: bool = False  # the ModelAdmin shows nothing to anyone else, whatever their permissions


# Answers shared by many rows.
SIGNED_IN = E(OK, anonymous=LOGIN)
OPEN = E(OK)
OWNER_ONLY = E(NOT_FOUND, anonymous=LOGIN, applicant_a=OK)
STAFF_PAGE = E(OK, anonymous=LOGIN, applicants=NOT_FOUND)
ADMIN_PAGE = E(OK, anonymous=LOGIN, applicants=LOGIN)
# Applicant A's objects in sub-venue X: who sees them, who may change them (staff: roles granted teams.change_*).
SEES_A = E(OK, anonymous=LOGIN, applicant_b=NOT_FOUND, operator_y=NOT_FOUND)
EDITS_A = E(NOT_FOUND, anonymous=LOGIN, applicant_a=OK, provincial_staff=OK, operator_x=OK, superuser=OK)
# An API action on applicant A's record whose input is checked first: whoever sees the record reaches the view.
TOUCHES_A = E(OK, anonymous=LOGIN, applicant_b=NOT_FOUND, operator_y=NOT_FOUND, auditor=FORBIDDEN)
# What only the grant holder does to their fund-use report (staff, even superusers, are refused: 403).
FILES_A = E(FORBIDDEN, anonymous=LOGIN, applicant_a=OK, applicant_b=NOT_FOUND, operator_y=NOT_FOUND)
PORTFOLIO_READER = E(OK, anonymous=LOGIN, applicants=FORBIDDEN)
PORTFOLIO_RUNNER = E(OK, anonymous=LOGIN, applicants=FORBIDDEN, auditor=FORBIDDEN)
CASE_STEP = E(OK, anonymous=LOGIN, applicants=NOT_FOUND, auditor=FORBIDDEN)
MARKS_RECORDER = E(FORBIDDEN, anonymous=LOGIN, portfolio_manager=OK, superuser=OK)
# The investments' documents (due diligence, decision minutes, evidence): read by portfolio managers, provincial
# staff and auditors; added and removed by portfolio managers. Everyone else is refused (403; the API hides: 404).
DOCUMENT_READER = E(FORBIDDEN, anonymous=LOGIN, provincial_staff=OK, portfolio_manager=OK, auditor=OK, superuser=OK)
DOCUMENT_KEEPER = E(FORBIDDEN, anonymous=LOGIN, portfolio_manager=OK, superuser=OK)


def TAKES(*takers: str) -> dict[str, str]:
    """A page of a transition (its form): only the roles that may take it; others who see the application get 403."""
    return E(
        FORBIDDEN,
        anonymous=LOGIN,
        applicant_b=NOT_FOUND,
        operator_y=NOT_FOUND,
        superuser=OK,
        **dict.fromkeys(takers, OK),
    )


# ------------------------------------------------------------------ web pages


PAGES: dict[str, Page] = {
    "home": Page(get=OPEN),
    "my_home": Page(get=SIGNED_IN),
    "healthz": Page(get=OPEN),
    "readyz": Page(get=OPEN),
    # For the scraper's bearer token (tests/valley/test_observability.py); of the signed-in, superusers only.
    "metrics": Page(get=E(FORBIDDEN, anonymous=LOGIN, superuser=OK)),
    "set_language": Page(get=OPEN, post=OPEN, body={"language": "en", "next": "/"}),
    "signup": Page(get=OPEN),
    "signup_done": Page(get=OPEN),
    "resend_confirmation": Page(get=E(NOT_ALLOWED), post=SIGNED_IN),
    "confirm_email": Page(("bad_token",), get=OPEN),  # 400 with the reason: the token is checked, not the user
    "login": Page(get=OPEN, post=OPEN),
    # The second factor: whoever needs none (or has passed it, as a forced login has) is sent on.
    "two_factor_verify": Page(get=SIGNED_IN, post=SIGNED_IN),
    "two_factor_setup": Page(get=SIGNED_IN, post=SIGNED_IN),
    "reauthenticate": Page(get=SIGNED_IN, post=SIGNED_IN),
    "logout": Page(get=E(NOT_ALLOWED), post=OPEN),
    "password_change": Page(get=SIGNED_IN, post=SIGNED_IN),
    "session_keepalive": Page(get=SIGNED_IN),
    "password_change_done": Page(get=SIGNED_IN),
    "password_reset": Page(get=OPEN, post=OPEN),
    "password_reset_done": Page(get=OPEN),
    "password_reset_confirm": Page(("bad_uid", "bad_token"), get=OPEN),
    "password_reset_complete": Page(get=OPEN),
    # Personal data: the notice is public; the rest is the signed-in person's own (no object in the URL).
    "privacy_notice": Page(get=OPEN),
    "privacy_consent": Page(get=SIGNED_IN, post=SIGNED_IN),
    "my_data": Page(get=SIGNED_IN),
    "my_data_download": Page(get=E(NOT_ALLOWED), post=SIGNED_IN),
    "account_delete": Page(get=SIGNED_IN, post=SIGNED_IN),  # an empty POST: the form asks for the password
    "account_delete_cancel": Page(get=E(NOT_ALLOWED), post=SIGNED_IN),
    "export_list": Page(get=STAFF_PAGE),
    "export_download": Page(("export",), get=STAFF_PAGE),
    "export_download_xlsx": Page(("export",), get=STAFF_PAGE),
    "audit_check": Page(get=E(NOT_FOUND, anonymous=LOGIN, provincial_staff=OK, auditor=OK, superuser=OK)),
    "teams:entity_list": Page(get=SIGNED_IN),
    "teams:entity_create": Page(get=SIGNED_IN, post=SIGNED_IN),
    "teams:entity_detail": Page(("entity",), get=SEES_A),
    "teams:entity_edit": Page(("entity",), get=EDITS_A, post=EDITS_A),
    "teams:member_create": Page(("entity",), get=EDITS_A, post=EDITS_A),
    "teams:member_edit": Page(("entity", "member"), get=EDITS_A, post=EDITS_A),
    "teams:member_delete": Page(("entity", "member"), get=E(NOT_ALLOWED), post=EDITS_A),
    "teams:achievement_create": Page(("entity",), get=EDITS_A, post=EDITS_A),
    "teams:achievement_edit": Page(("entity", "achievement"), get=EDITS_A, post=EDITS_A),
    "teams:achievement_stage": Page(("entity", "achievement"), get=EDITS_A, post=EDITS_A),
    "teams:document_upload": Page(("entity",), get=EDITS_A, post=EDITS_A),
    "teams:document_delete": Page(("entity", "document"), get=E(NOT_ALLOWED), post=EDITS_A),
    "teams:document_download": Page(("document",), get=SEES_A),
    # The service system (teams/service_urls.py): applicant A's request to the data set's service line.
    "teams:service_request_list": Page(get=SIGNED_IN),
    "teams:service_request_create": Page(get=SIGNED_IN, post=SIGNED_IN),
    "teams:service_queue": Page(get=STAFF_PAGE),
    "teams:service_figures": Page(get=SIGNED_IN),
    "teams:service_request_detail": Page(("service_request",), get=SEES_A),
    "teams:service_request_message": Page(("service_request",), get=E(NOT_ALLOWED), post=SEES_A),
    "teams:service_request_rate": Page(("service_request",), get=E(NOT_ALLOWED), post=SEES_A),
    "teams:service_request_accept": Page(("service_request",), get=E(NOT_ALLOWED), post=SEES_A),
    "teams:service_request_reject": Page(("service_request",), get=E(NOT_ALLOWED), post=SEES_A),
    "teams:service_request_resolve": Page(("service_request",), get=E(NOT_ALLOWED), post=SEES_A),
    "teams:service_attachment_download": Page(("service_attachment",), get=SEES_A),
    # Residency requests: the applying team's keeper asks; who sees the request reaches the decision doors, where
    # the service refuses anyone but the sub-venue's staff (tests/teams/test_residency_requests.py).
    "teams:residency_request_new": Page(("applying_entity",), get=OWNER_ONLY, post=OWNER_ONLY),
    "teams:residency_requests": Page(get=SIGNED_IN),
    "teams:residency_queue": Page(get=STAFF_PAGE),
    "teams:residency_request_detail": Page(("residency_request",), get=SEES_A),
    "teams:residency_request_select": Page(("residency_request",), get=E(NOT_ALLOWED), post=SEES_A),
    "teams:residency_request_decline": Page(("residency_request",), get=E(NOT_ALLOWED), post=SEES_A),
    "teams:residency_request_withdraw": Page(("residency_request",), get=E(NOT_ALLOWED), post=SEES_A),
    "teams:residency_request_document": Page(("residency_request", "request_document"), get=SEES_A),
    "guide_index": Page(get=OPEN),
    "guide_detail": Page(("guide",), get=OPEN),
    "funding:mine": Page(get=SIGNED_IN),
    "funding:new": Page(get=SIGNED_IN, post=SIGNED_IN),
    "funding:notices": Page(get=OPEN),
    "funding:queues": Page(get=STAFF_PAGE),
    "funding:queue": Page(("queue",), get=STAFF_PAGE),
    "funding:budgets": Page(get=STAFF_PAGE),
    "funding:detail": Page(("application",), get=SEES_A),
    "funding:edit": Page(("draft",), get=OWNER_ONLY, post=OWNER_ONLY),
    # Actions on the application: whoever sees it reaches the service, which refuses a role or state with a message.
    "funding:transition": Page(("application", "transition"), get=E(NOT_ALLOWED), post=SEES_A),
    "funding:approve": Page(("application",), get=TAKES("approver"), post=TAKES("approver")),
    "funding:object": Page(("application",), get=E(NOT_ALLOWED), post=SEES_A),
    "funding:clear_objection": Page(("application",), get=E(NOT_ALLOWED), post=SEES_A),
    "funding:assign_reviewer": Page(("application",), get=E(NOT_ALLOWED), post=SEES_A),
    # Whoever sees the application reaches the door; the service says who may lead it (tests/funding/test_lead.py).
    "funding:lead_claim": Page(("application",), get=E(NOT_ALLOWED), post=SEES_A),
    "funding:lead_assign": Page(("application",), get=E(NOT_ALLOWED), post=SEES_A),
    "funding:review": Page(
        ("application",),
        get=E(NOT_FOUND, anonymous=LOGIN, reviewer=OK),
        post=E(NOT_FOUND, anonymous=LOGIN, reviewer=OK),
    ),  # only the assigned reviewer has a review to give
    "funding:attach_document": Page(("draft",), get=OWNER_ONLY, post=OWNER_ONLY),
    "funding:detach_document": Page(("draft", "draft_document"), get=E(NOT_ALLOWED), post=OWNER_ONLY),
    "funding:verify_registration": Page(
        ("application",), get=TAKES("registration_officer"), post=TAKES("registration_officer")
    ),
    "funding:disburse": Page(("application",), get=TAKES("finance_officer"), post=TAKES("finance_officer")),
    # The grant after the money, the holder's side: whoever sees the application sees the grant and its reports;
    # only the holder files a report (staff who see it get 403), only finance decides on it.
    "funding:grant": Page(("application",), get=SEES_A),
    "funding:report": Page(("fund_use_report",), get=SEES_A, post=FILES_A),
    "funding:report_attach_document": Page(("fund_use_report",), get=E(NOT_ALLOWED), post=FILES_A),
    "funding:report_detach_document": Page(("fund_use_report", "report_document"), get=E(NOT_ALLOWED), post=FILES_A),
    "funding:report_decide": Page(("fund_use_report",), get=E(NOT_ALLOWED), post=TAKES("finance_officer")),
    # The grant after the money: staff pages. Where the step cannot be taken now, its page says why (200).
    "funding:acceptance": Page(("application",), get=TAKES("reviewer", "approver"), post=TAKES("reviewer", "approver")),
    "funding:recovery_open": Page(
        ("application",), get=TAKES("finance_officer", "approver"), post=TAKES("finance_officer", "approver")
    ),
    "funding:repayment": Page(("in_recovery",), get=TAKES("finance_officer"), post=TAKES("finance_officer")),
    "funding:revise_amount": Page(
        ("in_registration",),
        get=TAKES("approver", "registration_officer"),
        post=TAKES("approver", "registration_officer"),
    ),
    "funding:reject_at_registration": Page(("in_registration",), get=TAKES("approver"), post=TAKES("approver")),
    "tolerance:fund_list": Page(get=PORTFOLIO_READER),
    "tolerance:fund_check_run_all": Page(get=E(NOT_ALLOWED), post=PORTFOLIO_RUNNER),
    "tolerance:fund_dashboard": Page(("fund",), get=PORTFOLIO_READER),
    "tolerance:fund_check_run": Page(("fund",), get=E(NOT_ALLOWED), post=PORTFOLIO_RUNNER),
    "tolerance:case_list": Page(get=PORTFOLIO_READER),
    # The matrix's case is determined: portfolio managers may record the notice (or re-examine); others no step.
    "tolerance:case_detail": Page(
        ("exemption_case",),
        get=PORTFOLIO_READER,
        post=E(FORBIDDEN, anonymous=LOGIN, portfolio_manager=OK, superuser=OK),
    ),
    "tolerance:fund_evaluation": Page(("fund", "evaluation_year"), get=PORTFOLIO_READER),
    "tolerance:fund_evaluation_csv": Page(("fund", "evaluation_year"), get=PORTFOLIO_READER),
    "tolerance:report_queue": Page(get=PORTFOLIO_READER),
    "tolerance:report_detail": Page(("company_report",), get=PORTFOLIO_READER),
    "tolerance:report_decide": Page(
        ("company_report",),
        get=E(NOT_ALLOWED),
        post=E(FORBIDDEN, anonymous=LOGIN, portfolio_manager=OK, superuser=OK),
    ),
    "tolerance:company_history": Page(("portfolio_startup",), get=PORTFOLIO_READER),
    # The startup's own quarterly reports: its owner only; everyone else, staff too, is told it does not exist.
    "tolerance:my_reports": Page(("portfolio_startup",), get=OWNER_ONLY),
    "tolerance:my_report": Page(("portfolio_startup", "company_report"), get=OWNER_ONLY, post=OWNER_ONLY),
    # An investment's valuation marks: portfolio readers see the history; portfolio managers record a mark.
    "tolerance:investment_marks": Page(("investment",), get=PORTFOLIO_READER, post=MARKS_RECORDER),
    "tolerance:investment_documents": Page(("investment",), get=DOCUMENT_READER, post=DOCUMENT_KEEPER),
    "tolerance:investment_document_download": Page(("investment_document",), get=DOCUMENT_READER),
    "tolerance:investment_document_delete": Page(("investment_document",), get=E(NOT_ALLOWED), post=DOCUMENT_KEEPER),
    # The admin's own pages (its model pages come from ADMIN below).
    "admin:index": Page(get=ADMIN_PAGE),
    "admin:login": Page(get=OPEN),
    "admin:logout": Page(get=E(NOT_ALLOWED, anonymous=OK, applicants=OK), post=OPEN),
    "admin:password_change": Page(get=ADMIN_PAGE),
    "admin:password_change_done": Page(get=ADMIN_PAGE),
    "admin:autocomplete": Page(get=E(FORBIDDEN, anonymous=LOGIN, applicants=LOGIN)),  # 403 without its parameters
    "admin:jsi18n": Page(get=ADMIN_PAGE),
    "admin:auth_user_password_change": Page(
        ("applicant_a_user",), get=E(FORBIDDEN, anonymous=LOGIN, applicants=LOGIN, superuser=OK)
    ),  # accounts are kept by superusers
    "admin:otp_totp_totpdevice_config": Page(
        ("totp_device",), get=E(FORBIDDEN, anonymous=LOGIN, applicants=LOGIN, superuser=OK)
    ),
    "admin:otp_totp_totpdevice_qrcode": Page(
        ("totp_device",), get=E(FORBIDDEN, anonymous=LOGIN, applicants=LOGIN, superuser=OK)
    ),
    "admin:view_on_site": Page(("entity_content_type", "entity"), get=ADMIN_PAGE),
    "admin:app_list": Page(("funding_app",), get=ADMIN_PAGE),
    "route:admin/(?P<url>.*)$": Page(get=E(NOT_FOUND, anonymous=LOGIN, applicants=LOGIN), path="/admin/no-such-page/"),
    # The API's pages outside the schema: the schema and its docs describe endpoints, not data.
    "api:schema": Page(get=OPEN),
    "api:docs": Page(get=OPEN),
    "api:api-root": Page(get=SIGNED_IN),
    "route:api/^[\\s\\S]*/$": Page(get=E(NOT_FOUND), post=E(NOT_FOUND), path="/api/no-such-endpoint/"),
}


# ------------------------------------------------------------------ the REST API (every operation of the schema)


API: dict[tuple[str, str], Api] = {
    ("GET", "/api/achievement-stage-changes/"): Api(SIGNED_IN),
    ("GET", "/api/achievement-stage-changes/{id}/"): Api(SEES_A, "stage_change"),
    ("GET", "/api/achievements/"): Api(SIGNED_IN),
    ("GET", "/api/achievements/{id}/"): Api(SEES_A, "achievement"),
    ("GET", "/api/application-events/"): Api(SIGNED_IN),
    ("GET", "/api/application-events/{id}/"): Api(SEES_A, "application_event"),
    ("GET", "/api/applications/"): Api(SIGNED_IN),
    ("GET", "/api/applications/{id}/"): Api(SEES_A, "application"),
    ("GET", "/api/budgets/"): Api(SIGNED_IN),
    ("GET", "/api/budgets/{id}/"): Api(
        E(OK, anonymous=LOGIN, applicant_a=NOT_FOUND, applicant_b=NOT_FOUND, operator_y=NOT_FOUND), "budget"
    ),
    ("GET", "/api/compliance-reports/"): Api(SIGNED_IN),
    ("GET", "/api/compliance-reports/{id}/"): Api(STAFF_PAGE, "compliance_report"),
    ("GET", "/api/disbursements/"): Api(SIGNED_IN),
    ("GET", "/api/disbursements/{id}/"): Api(SEES_A, "disbursement"),
    ("GET", "/api/documents/"): Api(SIGNED_IN),
    ("GET", "/api/documents/{id}/"): Api(SEES_A, "document"),
    ("GET", "/api/service-requests/"): Api(SIGNED_IN),
    ("GET", "/api/service-requests/{id}/"): Api(SEES_A, "service_request"),
    ("POST", "/api/service-requests/{id}/accept/"): Api(TOUCHES_A, "service_request"),
    ("POST", "/api/service-requests/{id}/reject/"): Api(TOUCHES_A, "service_request"),
    ("POST", "/api/service-requests/{id}/resolve/"): Api(TOUCHES_A, "service_request"),
    ("POST", "/api/service-requests/{id}/message/"): Api(TOUCHES_A, "service_request"),
    ("POST", "/api/service-requests/{id}/rate/"): Api(TOUCHES_A, "service_request"),
    ("GET", "/api/entities/"): Api(SIGNED_IN),
    ("GET", "/api/entities/{id}/"): Api(SEES_A, "entity"),
    ("GET", "/api/exemption-cases/"): Api(SIGNED_IN),
    ("GET", "/api/exemption-cases/{id}/"): Api(STAFF_PAGE, "exemption_case"),
    # The steps, tried with an empty body: every field-bearing step answers 400 to whoever reaches the case
    # (auditors change nothing through the API: 403).
    ("POST", "/api/exemption-cases/{id}/evidence/"): Api(CASE_STEP, "exemption_case"),
    ("POST", "/api/exemption-cases/{id}/statement/"): Api(CASE_STEP, "exemption_case"),
    ("POST", "/api/exemption-cases/{id}/opinion/"): Api(CASE_STEP, "exemption_case"),
    ("POST", "/api/exemption-cases/{id}/determine/"): Api(CASE_STEP, "exemption_case"),
    ("POST", "/api/exemption-cases/{id}/notify/"): Api(CASE_STEP, "exemption_case"),
    ("POST", "/api/exemption-cases/{id}/reexamine/"): Api(CASE_STEP, "exemption_case"),
    # No field is required: the role decides (403), then the step (409: the matrix's case is determined).
    ("POST", "/api/exemption-cases/{id}/gather-evidence/"): Api(
        E(FORBIDDEN, anonymous=LOGIN, applicants=NOT_FOUND, portfolio_manager=OK, superuser=OK), "exemption_case"
    ),
    ("GET", "/api/exemptions/"): Api(SIGNED_IN),
    ("GET", "/api/exemptions/{id}/"): Api(STAFF_PAGE, "exemption"),
    ("GET", "/api/expert-reviews/"): Api(SIGNED_IN),
    ("GET", "/api/expert-reviews/{id}/"): Api(
        E(OK, anonymous=LOGIN, applicant_a=NOT_FOUND, applicant_b=NOT_FOUND, operator_y=NOT_FOUND), "expert_review"
    ),
    ("GET", "/api/focus-areas/"): Api(SIGNED_IN),
    ("GET", "/api/focus-areas/{id}/"): Api(SIGNED_IN, "focus_area"),
    ("GET", "/api/fund-policies/"): Api(SIGNED_IN),
    ("GET", "/api/fund-policies/{id}/"): Api(SIGNED_IN, "fund_policy"),
    ("GET", "/api/final-acceptances/"): Api(SIGNED_IN),
    ("GET", "/api/final-acceptances/{id}/"): Api(SEES_A, "final_acceptance"),
    ("GET", "/api/fund-use-reports/"): Api(SIGNED_IN),
    ("GET", "/api/company-reports/"): Api(SIGNED_IN),
    ("GET", "/api/company-reports/{id}/"): Api(E(OK, anonymous=LOGIN, applicant_b=NOT_FOUND), "company_report"),
    # Filed by the startup's owner: the figures are checked first (400 here: none sent), so whoever sees the
    # report reaches the view; the service refuses anyone but the owner (tests/tolerance/test_monitoring.py).
    ("POST", "/api/company-reports/{id}/save/"): Api(
        E(OK, anonymous=LOGIN, applicant_b=NOT_FOUND, auditor=FORBIDDEN), "company_report"
    ),
    # No input to check: the service answers (400 for the owner here: no figures yet; 403 for staff).
    ("POST", "/api/company-reports/{id}/submit/"): Api(
        E(FORBIDDEN, anonymous=LOGIN, applicant_a=OK, applicant_b=NOT_FOUND), "company_report"
    ),
    # Portfolio managers decide (409 here: the report is still to be filed).
    ("POST", "/api/company-reports/{id}/accept/"): Api(
        E(FORBIDDEN, anonymous=LOGIN, applicant_b=NOT_FOUND, portfolio_manager=OK, superuser=OK), "company_report"
    ),
    ("POST", "/api/company-reports/{id}/return/"): Api(
        E(FORBIDDEN, anonymous=LOGIN, applicant_b=NOT_FOUND, portfolio_manager=OK, superuser=OK), "company_report"
    ),
    ("GET", "/api/fund-use-reports/{id}/"): Api(SEES_A, "fund_use_report"),
    ("GET", "/api/funding-agreements/"): Api(SIGNED_IN),
    ("GET", "/api/funding-agreements/{id}/"): Api(SEES_A, "funding_agreement"),
    ("GET", "/api/funds/"): Api(SIGNED_IN),
    ("GET", "/api/funds/{id}/"): Api(STAFF_PAGE, "fund"),
    ("GET", "/api/institutions/"): Api(SIGNED_IN),
    ("GET", "/api/institutions/{id}/"): Api(SIGNED_IN, "institution"),
    ("GET", "/api/investment-documents/"): Api(SIGNED_IN),  # an empty list for those who may not read them
    ("GET", "/api/investment-documents/{id}/"): Api(
        E(NOT_FOUND, anonymous=LOGIN, provincial_staff=OK, portfolio_manager=OK, auditor=OK, superuser=OK),
        "investment_document",
    ),
    ("GET", "/api/investment-parties/"): Api(SIGNED_IN),
    ("GET", "/api/investment-parties/{id}/"): Api(STAFF_PAGE, "investment_party"),
    ("GET", "/api/investments/"): Api(SIGNED_IN),
    ("GET", "/api/investments/{id}/"): Api(STAFF_PAGE, "investment"),
    ("GET", "/api/members/"): Api(SIGNED_IN),
    ("GET", "/api/members/{id}/"): Api(SEES_A, "member"),
    ("GET", "/api/recovery-orders/"): Api(SIGNED_IN),
    ("GET", "/api/recovery-orders/{id}/"): Api(SEES_A, "recovery_order"),
    ("GET", "/api/registrations/"): Api(SIGNED_IN),
    ("GET", "/api/registrations/{id}/"): Api(SEES_A, "registration"),
    ("GET", "/api/residencies/"): Api(SIGNED_IN),
    ("GET", "/api/residency-requests/"): Api(SIGNED_IN),
    ("GET", "/api/residency-requests/{id}/"): Api(SEES_A, "residency_request"),
    ("POST", "/api/residency-requests/"): Api(E(OK, anonymous=LOGIN, auditor=FORBIDDEN)),  # {}: 400, the door passed
    # Select takes no required input: the service answers the role (403) for whoever sees the request.
    ("POST", "/api/residency-requests/{id}/select/"): Api(
        E(
            FORBIDDEN,
            anonymous=LOGIN,
            applicant_b=NOT_FOUND,
            operator_y=NOT_FOUND,
            provincial_staff=OK,
            operator_x=OK,
            superuser=OK,
        ),
        "residency_request",
    ),
    ("POST", "/api/residency-requests/{id}/decline/"): Api(TOUCHES_A, "residency_request"),  # {}: 400, no reason
    ("POST", "/api/residency-requests/{id}/withdraw/"): Api(
        E(FORBIDDEN, anonymous=LOGIN, applicant_a=OK, applicant_b=NOT_FOUND, operator_y=NOT_FOUND),
        "residency_request",
    ),
    ("GET", "/api/residencies/{id}/"): Api(SEES_A, "residency"),
    ("GET", "/api/service-lines/"): Api(SIGNED_IN),
    ("GET", "/api/service-lines/{id}/"): Api(SIGNED_IN, "service_line"),
    ("GET", "/api/sub-venues/"): Api(SIGNED_IN),
    ("GET", "/api/sub-venues/{id}/"): Api(SIGNED_IN, "sub_venue_x"),
    ("GET", "/api/targets/"): Api(SIGNED_IN),
    ("GET", "/api/targets/{id}/"): Api(SIGNED_IN, "target"),
    ("GET", "/api/valuation-marks/"): Api(SIGNED_IN),
    ("GET", "/api/valuation-marks/{id}/"): Api(STAFF_PAGE, "valuation_mark"),
    ("GET", "/api/valley/"): Api(SIGNED_IN),
    ("GET", "/api/valley/{id}/"): Api(SIGNED_IN, "valley"),
    ("POST", "/api/applications/"): Api(E(OK, anonymous=LOGIN, auditor=FORBIDDEN)),
    ("POST", "/api/valuation-marks/"): Api(MARKS_RECORDER),  # the manager's empty body: 400, the door was passed
    ("PATCH", "/api/applications/{id}/"): Api(
        E(
            FORBIDDEN,
            anonymous=LOGIN,
            applicant_a=OK,
            applicant_b=NOT_FOUND,
            operator_x=NOT_FOUND,
            operator_y=NOT_FOUND,
        ),
        "draft",
    ),
    ("POST", "/api/applications/{id}/approve/"): Api(
        E(FORBIDDEN, anonymous=LOGIN, applicant_b=NOT_FOUND, operator_y=NOT_FOUND, approver=OK, superuser=OK),
        "application",
    ),
    ("POST", "/api/applications/{id}/disburse/"): Api(
        E(OK, anonymous=LOGIN, applicant_b=NOT_FOUND, operator_y=NOT_FOUND, auditor=FORBIDDEN), "application"
    ),
    ("POST", "/api/applications/{id}/transitions/{name}/"): Api(
        E(FORBIDDEN, anonymous=LOGIN, applicant_b=NOT_FOUND, operator_y=NOT_FOUND, finance_officer=OK, superuser=OK),
        "application",
        "close",
    ),
    ("POST", "/api/applications/{id}/verify-registration/"): Api(
        E(OK, anonymous=LOGIN, applicant_b=NOT_FOUND, operator_y=NOT_FOUND, auditor=FORBIDDEN), "application"
    ),
    # After the grant. An empty body is refused by the input check (400: the door was passed) before the service
    # would refuse the role; where the input may be empty, the service answers the role.
    ("POST", "/api/applications/{id}/record-acceptance/"): Api(TOUCHES_A, "application"),
    ("POST", "/api/applications/{id}/open-recovery/"): Api(TOUCHES_A, "application"),
    ("POST", "/api/applications/{id}/repay/"): Api(TOUCHES_A, "application"),
    ("POST", "/api/applications/{id}/revise-amount/"): Api(TOUCHES_A, "application"),
    # The grant holder files (an empty save keeps the report as it is); finance decides (the draft: 409).
    ("POST", "/api/fund-use-reports/{id}/save/"): Api(FILES_A, "fund_use_report"),
    ("POST", "/api/fund-use-reports/{id}/submit/"): Api(FILES_A, "fund_use_report"),  # 400: no lines yet
    ("POST", "/api/fund-use-reports/{id}/accept/"): Api(
        E(FORBIDDEN, anonymous=LOGIN, applicant_b=NOT_FOUND, operator_y=NOT_FOUND, finance_officer=OK, superuser=OK),
        "fund_use_report",
    ),
    ("POST", "/api/fund-use-reports/{id}/return/"): Api(TOUCHES_A, "fund_use_report"),
    ("POST", "/api/fund-use-reports/{id}/attach-document/"): Api(TOUCHES_A, "fund_use_report"),
    ("POST", "/api/fund-use-reports/{id}/detach-document/"): Api(TOUCHES_A, "fund_use_report"),
}


# ------------------------------------------------------------------ the Django admin


READ_ONLY = {"add": False, "change": False, "delete": False}  # history and results: written by the services only
ADMIN: dict[str, AdminModel] = {
    "auth.group": AdminModel("group"),
    "authtoken.tokenproxy": AdminModel("token"),
    "valley.user": AdminModel("applicant_a_user"),
    # Superusers only (mail bodies carry confirmation links); the outbox writes it.
    "valley.outboxmessage": AdminModel("outbox_message", superusers_only=True, **READ_ONLY),
    "otp_totp.totpdevice": AdminModel("totp_device"),  # superusers only: a lost phone means deleting the device
    "axes.accessattempt": AdminModel("access_attempt", add=False),  # written by django-axes at each failure
    "axes.accesslog": AdminModel("access_log", add=False),
    "axes.accessfailurelog": AdminModel("access_failure_log", add=False),
    "valley.valley": AdminModel("valley"),
    "valley.subvenue": AdminModel("sub_venue_x"),
    "valley.institution": AdminModel("institution"),
    "valley.focusarea": AdminModel("focus_area"),
    "valley.serviceline": AdminModel("service_line"),
    "valley.target": AdminModel("target"),
    "valley.calendarday": AdminModel("calendar_day"),
    "valley.privacynotice": AdminModel("privacy_notice"),  # a version someone accepted is read-only (none here)
    "teams.entity": AdminModel("entity", scoped=True),
    "teams.residency": AdminModel("residency", scoped=True),
    "teams.achievement": AdminModel("achievement", scoped=True),
    "teams.registration": AdminModel("registration", scoped=True, not_for=GROUPS["operators"]),
    "teams.document": AdminModel("document", add=False, scoped=True),  # uploads go through the pages
    # Worked through the actions and the pages (teams.service_requests), never edited here.
    "teams.servicerequest": AdminModel("service_request", scoped=True, **READ_ONLY),
    # Applicants submit from their team's page; staff decide on the change page, through the services.
    "teams.residencyrequest": AdminModel("residency_request", add=False, delete=False, scoped=True),
    "valley.guide": AdminModel("guide_object"),
    "funding.fundpolicy": AdminModel("fund_policy", change=False, delete=False),  # a new version, never an edit
    "funding.subvenuebudget": AdminModel("budget", scoped=True),
    "funding.application": AdminModel("application", add=False, delete=False, scoped=True),
    "funding.applicationevent": AdminModel("application_event", **READ_ONLY),
    "funding.expertreview": AdminModel("expert_review", **READ_ONLY),
    "funding.disbursement": AdminModel("disbursement", scoped=True, **READ_ONLY),
    "funding.fundingagreement": AdminModel("funding_agreement", scoped=True, **READ_ONLY),
    # Decided by the actions (funding.post_award), never edited here.
    "funding.fundusereport": AdminModel("fund_use_report", scoped=True, **READ_ONLY),
    "funding.finalacceptance": AdminModel("final_acceptance", scoped=True, **READ_ONLY),
    "funding.recoveryorder": AdminModel("recovery_order", scoped=True, **READ_ONLY),
    "tolerance.fund": AdminModel("fund"),
    "tolerance.companyreport": AdminModel("company_report", **READ_ONLY),
    "tolerance.investment": AdminModel("investment"),
    "tolerance.investmentparty": AdminModel("investment_party"),
    # Uploaded (checked) and removed, never edited: a wrong document is removed and uploaded again.
    "tolerance.investmentdocument": AdminModel("investment_document", change=False),
    "tolerance.compliancereport": AdminModel(
        "compliance_report", add=False, change=False
    ),  # computed; superusers may delete
    "tolerance.valuationmark": AdminModel("valuation_mark", change=False, delete=False),  # a correction is a new mark
    # Decided by people through the case page: nobody adds, changes or removes them here.
    "tolerance.exemptiondetermination": AdminModel("exemption", add=False, change=False, delete=False),
    "tolerance.exemptioncase": AdminModel("exemption_case", add=False, change=False, delete=False),
}
ADMIN_MODEL_URLS = ("changelist", "add", "history", "delete", "change")


# ------------------------------------------------------------------ what the portal has: URLs and schema operations


def url_patterns(resolver=None, prefix: str = "", namespace: str = ""):
    """(key, route) for every URL pattern: key is "namespace:name", or "route:<route>" for an unnamed one."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            yield from url_patterns(pattern, route, inner)
        elif isinstance(pattern, URLPattern):
            yield (f"{namespace}{pattern.name}" if pattern.name else f"route:{route}"), route


def admin_url_keys() -> set[str]:
    """The URL keys that ADMIN's rows account for: each model's named pages and its unnamed object redirect."""
    keys = set()
    for label in ADMIN:
        app_label, model_name = label.split(".")
        keys |= {f"admin:{app_label}_{model_name}_{suffix}" for suffix in ADMIN_MODEL_URLS}
        keys.add(f"route:admin/{app_label}/{model_name}/<path:object_id>/")
    return keys


def schema_operations(schema: dict) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }


def api_url_keys(schema: dict) -> set[str]:
    """The URL names that the schema's operations account for (the router's list, detail and action routes)."""
    keys = set()
    for path in schema["paths"]:
        match = resolve(path.replace("{id}", "1").replace("{name}", "submit"))
        keys.add(f"{':'.join(match.namespaces)}:{match.url_name}")
    return keys


def registered_admin_models() -> set[str]:
    from django.contrib import admin

    return {model._meta.label_lower for model in admin.site._registry}


def uncovered(*, url_keys, schema_ops, admin_models, pages=None, api=None, admin=None) -> list[str]:
    """What the tables lack, one line each saying where to add it. Empty when everything is covered."""
    pages = PAGES if pages is None else pages
    api = API if api is None else api
    admin = ADMIN if admin is None else admin
    problems = []
    for label in sorted(set(admin_models) - set(admin)):
        problems.append(f"admin model {label} has no row: add it to ADMIN in tests/valley/permission_matrix.py")
    for method, path in sorted(set(schema_ops) - set(api)):
        problems.append(f"API operation {method} {path} has no row: add it to API in tests/valley/permission_matrix.py")
    for key in sorted(set(url_keys) - set(pages)):
        problems.append(f"URL {key} has no row: add it to PAGES in tests/valley/permission_matrix.py")
    return problems


# ------------------------------------------------------------------ the answers a response stands for


def outcome(response) -> str:
    code = response.status_code
    if code in (301, 302, 303, 307, 308):
        target = urlsplit(response["Location"]).path
        if target in (reverse("login"), reverse("admin:login")):
            return LOGIN
        # The admin's "no such object (perhaps deleted)" redirect from an object's page warns; a deletion done
        # (also sent to the index when the user may not change the model) leaves a success message.
        if (
            target == reverse("admin:index")
            and "object_id" in resolve(response.wsgi_request.path).kwargs
            and any(m.level == messages.WARNING for m in messages.get_messages(response.wsgi_request))
        ):
            return NOT_FOUND
        return OK
    if code in (200, 201, 204, 400, 409):
        return OK
    return {401: LOGIN, 403: FORBIDDEN, 404: NOT_FOUND, 405: NOT_ALLOWED}.get(code, ERROR)


# ------------------------------------------------------------------ the admin's answers, from valley/roles.py


def role_permissions() -> dict[str, set[str]]:
    """{role code: {"app_label.codename", ...}} as sync_roles grants them."""
    from django.contrib.auth.models import Permission

    rows = list(Permission.objects.values_list("pk", "content_type__app_label", "codename"))
    by_key = {(app, codename): pk for pk, app, codename in rows}
    names = {pk: f"{app}.{codename}" for pk, app, codename in rows}
    return {
        code: {names[pk] for pk in roles.resolve_permissions(role.permissions, by_key)}
        for code, role in roles.ROLES.items()
    }


def admin_expected(row: AdminModel, label: str, page: str, method: str, role: str, perms: dict[str, set[str]]) -> str:
    """What `role` gets from one admin page of the model `label`, read from the role's model permissions."""
    if role == "anonymous" or role in GROUPS["applicants"]:
        return LOGIN
    app_label, model_name = label.split(".")
    if role == "superuser":
        has = lambda action: True  # noqa: E731
    else:
        granted = perms[ROLE_GROUP[role]]
        has = lambda action: f"{app_label}.{action}_{model_name}" in granted  # noqa: E731
    if role in row.not_for:
        has = lambda action, _has=has: action == "view" and _has(action)  # noqa: E731
    if row.superusers_only and role != "superuser":
        has = lambda action: False  # noqa: E731
    may_view = has("view") or (has("change") and row.change)
    hidden = row.scoped and role == "operator_y"
    if page == "redirect":
        return OK
    if page == "changelist":
        return OK if may_view else FORBIDDEN
    if page == "add":
        return OK if has("add") and row.add else FORBIDDEN
    if page == "history":
        return NOT_FOUND if hidden else (OK if may_view else FORBIDDEN)
    if page == "change":
        allowed = (has("change") and row.change) if method == "POST" else may_view
        return FORBIDDEN if not allowed else (NOT_FOUND if hidden else OK)
    if page == "delete":
        return FORBIDDEN if not (has("delete") and row.delete) else (NOT_FOUND if hidden else OK)
    raise ValueError(page)


# ------------------------------------------------------------------ the cases


@dataclass(frozen=True)
class Case:
    kind: str  # "page", "api" or "admin"
    key: str  # the table's key
    method: str
    role: str
    expected: str | None  # None: read from the roles at run time (admin)
    admin_page: str = ""

    def __str__(self) -> str:
        return f"{self.key}|{self.method}|{self.role}"


ADMIN_REQUESTS = (
    ("changelist", "GET"),
    ("add", "GET"),
    ("add", "POST"),
    ("change", "GET"),
    ("change", "POST"),
    ("delete", "POST"),
    ("history", "GET"),
    ("redirect", "GET"),
)


def all_cases() -> list[Case]:
    cases = []
    for key, page in PAGES.items():
        for method, expect in (("GET", page.get), ("POST", page.post)):
            if expect is not None:
                cases += [Case("page", key, method, role, expect[role]) for role in ROLES]
    for (method, path), row in API.items():
        cases += [Case("api", path, method, role, row.expect[role]) for role in ROLES]
    for label in ADMIN:
        for admin_page, method in ADMIN_REQUESTS:
            cases += [Case("admin", f"admin:{label}:{admin_page}", method, role, None, admin_page) for role in ROLES]
    return cases


def case_url(case: Case, data: dict) -> str:
    def pk(key):
        value = data[key]
        return getattr(value, "pk", value)

    if case.kind == "page":
        page = PAGES[case.key]
        return page.path or reverse(case.key, args=[pk(arg) for arg in page.args])
    if case.kind == "api":
        row = API[(case.method, case.key)]
        url = case.key
        if row.id:
            url = url.replace("{id}", str(pk(row.id)))
        if row.name:
            url = url.replace("{name}", row.name)
        return url
    label, admin_page = case.key.split(":")[1:]
    app_label, model_name = label.split(".")
    obj = pk(ADMIN[label].obj)
    if admin_page == "redirect":
        return f"/admin/{app_label}/{model_name}/{obj}/"
    args = [] if admin_page in ("changelist", "add") else [obj]
    return reverse(f"admin:{app_label}_{model_name}_{admin_page}", args=args)


def case_body(case: Case) -> dict:
    if case.kind == "page":
        return PAGES[case.key].body
    if case.kind == "admin" and case.admin_page == "delete":
        return {"post": "yes"}
    return {}
