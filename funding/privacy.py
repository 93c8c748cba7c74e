"""What the start-up fund holds about a person, for "download my data" (registered with valley.privacy in
FundingConfig.ready).

A person's applications are those of the entities they own and those they created. The history comes with its
comments to the applicant, never the staff's internal notes, and says whether the person took a step, not which
member of staff took the others. Nothing here is anonymised: the grant's records and their figures are kept as
finance law requires; they point at the account, whose own fields are replaced (valley.privacy.services).
"""

from django.db.models import Q

from funding.models import Application, ApplicationEvent, Disbursement, ExpenseLine, FundingAgreement, FundUseReport


def _applications(user):
    return Application.objects.filter(Q(entity__owner=user) | Q(created_by=user))


def export(user) -> dict[str, list[dict]]:
    ids = set(_applications(user).values_list("pk", flat=True))
    applications = list(
        Application.objects.filter(pk__in=ids)
        .values(
            "id",
            "entity_id",
            "sub_venue__code",
            "state",
            "amount",
            "purpose",
            "plan",
            "created_at",
            "submitted_at",
            "approved_amount",
            "decided_at",
            "notice_ends_on",
            "disbursed_total",
            "recovered_total",
        )
        .order_by("pk")
    )
    events = [
        {**row, "by_you": row.pop("by_id") == user.pk}
        for row in ApplicationEvent.objects.filter(application_id__in=ids)
        .values(
            "id", "application_id", "action", "from_state", "to_state", "at", "comment", "message", "params", "by_id"
        )
        .order_by("pk")
    ]
    reports = list(
        FundUseReport.objects.filter(application_id__in=ids)
        .values(
            "id", "application_id", "state", "due_on", "disbursed", "spent", "summary", "submitted_at", "decided_at"
        )
        .order_by("pk")
    )
    return {
        "applications": applications,
        "application_events": events,
        "funding_agreements": list(
            FundingAgreement.objects.filter(application_id__in=ids)
            .values("id", "application_id", "amount", "purpose", "recorded_at")
            .order_by("pk")
        ),
        "disbursements": list(
            Disbursement.objects.filter(application_id__in=ids)
            .values("id", "application_id", "number", "amount", "paid_on", "reference")
            .order_by("pk")
        ),
        "fund_use_reports": reports,
        "expense_lines": list(
            ExpenseLine.objects.filter(report__application_id__in=ids)
            .values("id", "report_id", "category", "amount", "description")
            .order_by("pk")
        ),
    }
