"""Every write of the start-up fund. Each state change is one function: lock the row, check the
state and the role (valley.core.workflow), change what it changes, append the history row, record
the audit entries and queue mail after commit. Views, admin actions, the API and Celery tasks all call
these.

Audit: every function records its own entries, in its own transaction (no save() signal does it):
`funding.<thing>.created` / `.changed` with the values before (a snapshot of the row as locked) and
after, and one entry per history row under the row's own action code. A function takes all its row
locks (application, then budget) before its first entry, so the audit log's lock always comes last.
"""

import datetime
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from funding.messages import Message, system_message
from funding.models import (
    AgreementMilestone,
    Application,
    ApplicationEvent,
    Disbursement,
    ExpertReview,
    FundingAgreement,
    FundPolicy,
    FundUseReport,
    MilestoneAmendment,
    PlannedInstalment,
    SubVenueBudget,
)
from funding.notifications import notify_transition
from funding.selectors import ENTITY_CONDITIONS, entity_eligibility_problem, release_problem
from funding.workflow import EDITABLE_STATES, WORKFLOW, history_action
from teams.models import Entity, Residency
from teams.services import document_upload, registration_record
from valley import audit
from valley.core import roles, scoping
from valley.core.workflow import OWNER, SYSTEM, TransitionForbidden, TransitionNotAllowed, WorkflowError

S = Application.State


class FundingError(WorkflowError):
    """A money or data rule refused the action; the message says what to fix."""


# ---------------------------------------------------------------------------- policy


def policy_current() -> FundPolicy:
    return FundPolicy.objects.latest()


def policy_ensure_default() -> FundPolicy | None:
    """The fund always has a policy: the defaults of DOMAIN.md until staff add a new version. Returns the
    version it added, or None when there was one already (run after every migrate, so a flushed test
    database gets it back too)."""
    with transaction.atomic():
        if FundPolicy.objects.exists():
            return None
        policy = FundPolicy.objects.create(
            reason="Policy defaults: 300,000–1,000,000 yuan, at most 50% of paid-in capital."
        )
        audit.record_created(policy, action="funding.policy.created")
    return policy


def policy_check(
    *,
    by,
    min_amount: Decimal,
    max_amount: Decimal,
    max_paid_in_share: Decimal,
    notice_days: int,
    instalment_shares: tuple[Decimal, ...] | None = None,
    report_due_days: int | None = None,
) -> None:
    """Raise the error policy_change would raise for these values (forms call it to show the reason beside
    the fields); no query beyond the person's roles. None for the plan or the report days: not checked
    here (policy_change then carries over the current version's)."""
    if not roles.has_role(by, roles.PROVINCIAL_STAFF):
        raise TransitionForbidden(_("Only provincial staff may change the fund policy."))
    if min_amount <= 0 or max_amount < min_amount:
        raise FundingError(_("The minimum must be more than zero and not above the maximum."))
    if not (Decimal("0") < max_paid_in_share <= Decimal("1")):
        raise FundingError(_("The share of paid-in capital must be more than 0 and at most 1 (100%)."))
    if notice_days < 1:
        raise FundingError(_("The public notice lasts at least one day."))
    if instalment_shares is not None:
        if len(instalment_shares) != 3 or any(share <= 0 for share in instalment_shares):
            raise FundingError(_("The instalment plan has three instalments, each a share of more than 0%."))
        if sum(instalment_shares) != 100:
            raise FundingError(
                _("The instalment shares add up to %(total)s%%; they must add up to exactly 100%%.")
                % {"total": sum(instalment_shares)}
            )
    if report_due_days is not None and report_due_days < 1:
        raise FundingError(_("A fund-use report is due at least one day after the instalment."))


def policy_change(
    *,
    by,
    min_amount: Decimal,
    max_amount: Decimal,
    max_paid_in_share: Decimal,
    notice_days: int,
    reason: str,
    instalment_shares: tuple[Decimal, ...] | None = None,
    report_due_days: int | None = None,
) -> FundPolicy:
    """Add a new policy version; earlier versions stay as they were (and keep governing their applications
    and agreements). The instalment plan and the report days, when not given, stay those of the current
    version: a change of the amount limits does not reset the plan to the defaults."""
    policy_check(
        by=by,
        min_amount=min_amount,
        max_amount=max_amount,
        max_paid_in_share=max_paid_in_share,
        notice_days=notice_days,
        instalment_shares=instalment_shares,
        report_due_days=report_due_days,
    )
    with transaction.atomic():
        current = FundPolicy.objects.select_for_update().order_by("-effective_from", "-pk").first()
        if instalment_shares is None:
            instalment_shares = current.instalment_shares if current else FundPolicy().instalment_shares
        if report_due_days is None:
            report_due_days = current.report_due_days if current else FundPolicy().report_due_days
        first, second, third = instalment_shares
        policy = FundPolicy.objects.create(
            min_amount=min_amount,
            max_amount=max_amount,
            max_paid_in_share=max_paid_in_share,
            notice_days=notice_days,
            first_share=first,
            second_share=second,
            third_share=third,
            report_due_days=report_due_days,
            changed_by=by,
            reason=reason,
        )
        audit.record_created(policy, action="funding.policy.created", actor=by)
    return policy


def policy_add_demo(*, notice_minutes: int) -> FundPolicy:
    """The demo valley's policy (seed_demo): the current limits and plan, but a public notice of
    `notice_minutes`, so a newcomer sees a grant through to its end in one sitting. Refused where demo
    policies do not count (FUNDING_DEMO_POLICIES, never with DEBUG off). Returns the current version when
    it is already such a demo version."""
    if not settings.FUNDING_DEMO_POLICIES:
        raise FundingError(_("Demo policies are not allowed on this portal."))
    if notice_minutes < 1:
        raise FundingError(_("The public notice lasts at least one minute."))
    with transaction.atomic():
        current = FundPolicy.objects.select_for_update().order_by("-effective_from", "-pk").first()
        if current and current.is_demo and current.notice_minutes == notice_minutes:
            return current
        base = current or FundPolicy()
        policy = FundPolicy.objects.create(
            min_amount=base.min_amount,
            max_amount=base.max_amount,
            max_paid_in_share=base.max_paid_in_share,
            notice_days=base.notice_days,
            first_share=base.first_share,
            second_share=base.second_share,
            third_share=base.third_share,
            report_due_days=base.report_due_days,
            is_demo=True,
            notice_minutes=notice_minutes,
            reason=f"Demo policy: {notice_minutes} minutes' public notice, for trying the portal.",
        )
        audit.record_created(policy, action="funding.policy.created")
    return policy


def notice_end(
    policy: FundPolicy, *, now: datetime.datetime | None = None
) -> tuple[datetime.date, datetime.datetime | None]:
    """When a notice starting `now` under `policy` ends: the last day it runs, and the moment it ends when the
    policy is a demo one counted in minutes (None when it runs whole days)."""
    now = now or timezone.now()
    if policy.is_demo and policy.notice_minutes and settings.FUNDING_DEMO_POLICIES:
        ends_at = now + datetime.timedelta(minutes=policy.notice_minutes)
        return timezone.localdate(ends_at), ends_at
    return timezone.localdate(now) + datetime.timedelta(days=policy.notice_days), None


def amount_problem(amount: Decimal, policy: FundPolicy) -> str | None:
    """The reason `amount` breaks the policy's limits, or None."""
    if amount < policy.min_amount:
        return _("The fund grants at least %(min)s yuan.") % {"min": f"{policy.min_amount:,.2f}"}
    if amount > policy.max_amount:
        return _("The fund grants at most %(max)s yuan.") % {"max": f"{policy.max_amount:,.2f}"}
    return None


# ---------------------------------------------------------------------------- budgets

# The roles that keep sub-venue budgets (valley.core.roles grants them the budget's add and change permissions).
BUDGET_KEEPERS = (roles.PROVINCIAL_STAFF, roles.FINANCE_OFFICER)


def budget_check(*, by, sub_venue_id: int | None, amount: Decimal, budget: SubVenueBudget | None = None) -> None:
    """Raise the error budget_create (no `budget`) or budget_change would raise for `amount` (forms call it
    to show the reason beside the field); no query beyond the person's roles and sub-venues."""
    if not roles.has_role(by, *BUDGET_KEEPERS):
        raise TransitionForbidden(_("Only provincial staff and finance officers keep the sub-venues' budgets."))
    if not scoping.may_work_on_sub_venue(by, sub_venue_id):
        raise TransitionForbidden(_("This budget belongs to a sub-venue you do not operate."))
    if amount < 0:
        raise FundingError(_("A budget cannot be negative."))
    if budget is not None and amount < budget.reserved:
        raise FundingError(
            _("Approvals have reserved %(reserved)s yuan from this budget; it cannot be less.")
            % {"reserved": f"{budget.reserved:,.2f}"}
        )


def budget_create(*, by, sub_venue, year: int, amount: Decimal) -> SubVenueBudget:
    """A sub-venue's fund budget for a year (one per sub-venue and year); nothing is reserved from it yet."""
    budget_check(by=by, sub_venue_id=sub_venue.pk, amount=amount)
    try:
        with transaction.atomic():
            budget = SubVenueBudget.objects.create(sub_venue=sub_venue, year=year, amount=amount)
            audit.record_created(budget, action="funding.budget.created", actor=by)
    except IntegrityError:
        raise FundingError(
            _("%(venue)s already has a fund budget for %(year)s; change that one.") % {"venue": sub_venue, "year": year}
        ) from None
    return budget


def budget_change(*, budget: SubVenueBudget, by, amount: Decimal) -> SubVenueBudget:
    """Set the budget's amount. It never drops below what approvals have reserved from it; the reserved and
    disbursed counters move only with approvals, revocations and instalments."""
    with transaction.atomic():
        locked = _budget_locked(budget.pk)
        budget_check(by=by, sub_venue_id=locked.sub_venue_id, amount=amount, budget=locked)
        before = audit.snapshot(locked)
        locked.amount = amount
        locked.save(update_fields=["amount"])
        audit.record_changed(locked, action="funding.budget.changed", before=before, actor=by)
    return locked


def budget_delete(*, budget: SubVenueBudget, by) -> None:
    """Remove a budget entered by mistake: only one nothing was ever reserved from (the applications that
    reserved from a budget keep it: PROTECT)."""
    with transaction.atomic():
        locked = _budget_locked(budget.pk)
        if not roles.has_role(by, *BUDGET_KEEPERS) or not scoping.may_work_on_sub_venue(by, locked.sub_venue_id):
            raise TransitionForbidden(_("Only provincial staff and finance officers keep the sub-venues' budgets."))
        if locked.reserved or locked.applications.exists():
            raise TransitionNotAllowed(_("Approvals have reserved money from this budget; it stays."))
        before = audit.snapshot(locked)
        pk = locked.pk
        locked.delete()
        audit.record(
            action="funding.budget.deleted", actor=by, object_type=_label(SubVenueBudget), object_id=pk, before=before
        )


def _budget_locked(pk: int) -> SubVenueBudget:
    # The budget row only (`of`, no ordering): the default ordering joins the sub-venue, and a plain FOR UPDATE
    # would lock its row too; a submission in that sub-venue, which checks its foreign key to the sub-venue at
    # commit, then deadlocked with an approval.
    return SubVenueBudget.objects.select_for_update(of=("self",)).order_by().get(pk=pk)


def _budget_moved(budget: SubVenueBudget, by, **deltas: Decimal) -> None:
    """Add `deltas` to the counters of `budget` (locked by the caller) and record the change."""
    before = audit.snapshot(budget)
    for counter, delta in deltas.items():
        setattr(budget, counter, getattr(budget, counter) + delta)  # under the row lock; CHECKs are the backstop
    budget.save(update_fields=list(deltas))
    audit.record_changed(budget, action="funding.budget.changed", before=before, actor=by)


# ---------------------------------------------------------------------------- applicant side


def _active_residency(entity: Entity) -> Residency | None:
    return entity.residencies.filter(status__in=Residency.ACTIVE_STATUSES).select_related("sub_venue").first()


def _check_entity_may_apply(entity: Entity, *, exclude_pk=None, codes=("never_granted", "no_open_application")) -> None:
    """Refuse with the first condition of the fund the entity does not meet (funding.selectors.eligibility:
    the same conditions the fund guide's pre-check shows)."""
    if problem := entity_eligibility_problem(entity, codes=codes, exclude_application=exclude_pk):
        raise FundingError(problem)


def application_create(*, entity: Entity, by, amount: Decimal, purpose: str, plan: str) -> Application:
    if entity.owner_id != by.pk:
        raise TransitionForbidden(_("You can apply only for your own team or startup."))
    if problem := amount_problem(amount, policy_current()):
        raise FundingError(problem)
    _check_entity_may_apply(entity)
    try:
        with transaction.atomic():
            application = Application.objects.create(
                entity=entity, amount=amount, purpose=purpose, plan=plan, created_by=by
            )
            audit.record_created(application, action="funding.application.created", actor=by)
            _history(application, "funding.application.created", "", WORKFLOW.initial, by)
    except IntegrityError:
        # Two drafts at once: the partial unique index caught what the check above could not see yet.
        raise FundingError(
            _("%(entity)s already has an open application; finish or withdraw it first.") % {"entity": entity}
        ) from None
    return application


def application_update(*, application: Application, by, amount: Decimal, purpose: str, plan: str) -> Application:
    with transaction.atomic():
        locked = _lock(application)
        if locked.entity.owner_id != by.pk:
            raise TransitionForbidden(_("You can change only your own applications."))
        if locked.state not in EDITABLE_STATES:
            raise TransitionNotAllowed(
                _("The application can be changed only as a draft or when returned for changes.")
            )
        if problem := amount_problem(amount, locked.policy if locked.state == S.RETURNED else policy_current()):
            raise FundingError(problem)
        before = audit.snapshot(locked)
        locked.amount, locked.purpose, locked.plan = amount, purpose, plan
        locked.save(update_fields=["amount", "purpose", "plan"])
        audit.record_changed(locked, action="funding.application.changed", before=before, actor=by)
    return locked


def application_submit(*, application: Application, by, comment: str = "") -> Application:
    def apply(app: Application) -> list[str]:
        _check_entity_may_apply(app.entity, exclude_pk=app.pk, codes=ENTITY_CONDITIONS)
        residency = _active_residency(app.entity)
        if residency is None:  # ended since the check a moment ago
            _check_entity_may_apply(app.entity, exclude_pk=app.pk, codes=("resident",))
        policy = policy_current()
        if problem := amount_problem(app.amount, policy):
            raise FundingError(problem)
        app.sub_venue = residency.sub_venue
        app.policy = policy
        app.min_amount, app.max_amount = policy.min_amount, policy.max_amount
        app.max_paid_in_share = policy.max_paid_in_share
        app.submitted_at = timezone.now()
        return ["sub_venue", "policy", "min_amount", "max_amount", "max_paid_in_share", "submitted_at"]

    return _transition(application, "submit", by=by, comment=comment, apply=apply)


def application_withdraw(*, application: Application, by, comment: str = "") -> Application:
    return _transition(application, "withdraw", by=by, comment=comment)


def application_attach_document(*, application: Application, by, title: str, upload):
    """Store an uploaded file with the entity's documents (checked by valley.core.documents) and attach it."""
    with transaction.atomic():
        locked = _lock(application)
        if locked.entity.owner_id != by.pk:
            raise TransitionForbidden(_("You can change only your own applications."))
        if locked.state not in EDITABLE_STATES:
            raise TransitionNotAllowed(
                _("Documents can be attached only to a draft or an application returned for changes.")
            )
        document = document_upload(entity=locked.entity, by=by, title=title, upload=upload)
        locked.documents.add(document)
        _history(
            locked,
            "funding.application.document_attached",
            locked.state,
            locked.state,
            by,
            message=system_message("document_attached", title=title),
        )
    return document


def application_detach_document(*, application: Application, by, document) -> None:
    with transaction.atomic():
        locked = _lock(application)
        if locked.entity.owner_id != by.pk:
            raise TransitionForbidden(_("You can change only your own applications."))
        if locked.state not in EDITABLE_STATES:
            raise TransitionNotAllowed(
                _("Documents can be removed only from a draft or an application returned for changes.")
            )
        locked.documents.remove(document)
        _history(
            locked,
            "funding.application.document_detached",
            locked.state,
            locked.state,
            by,
            message=system_message("document_removed", title=document.title),
        )


# ---------------------------------------------------------------------------- review and decision


def application_act(*, application: Application, name: str, by, comment: str = "", internal_note: str = ""):
    """Transitions that change nothing but the state: reviews, returns, rejections, closing."""
    simple = {
        "start_formal_review",
        "pass_formal_review",
        "return_for_changes",
        "complete_expert_review",
        "reject",
        "close",
    }
    if name not in simple:
        raise ValueError(f"{name} has its own service function")
    return _transition(application, name, by=by, comment=comment, internal_note=internal_note)


# Transitions that take nothing but a comment (and an internal note, where the transition keeps one): the web
# pages and the API offer exactly these by name, through application_take.
COMMENT_ONLY_TRANSITIONS = (
    "submit",
    "withdraw",
    "end_notice",
    "revoke",
    "start_formal_review",
    "pass_formal_review",
    "return_for_changes",
    "complete_expert_review",
    "reject",
    "close",
)


def application_take(
    *, application: Application, name: str, by, comment: str = "", internal_note: str = ""
) -> Application:
    """Take the comment-only transition `name` (one of COMMENT_ONLY_TRANSITIONS) through its own service."""
    if name == "submit":
        return application_submit(application=application, by=by, comment=comment)
    if name == "withdraw":
        return application_withdraw(application=application, by=by, comment=comment)
    if name == "end_notice":
        return application_end_notice(application=application, by=by, comment=comment)
    if name == "revoke":
        return application_revoke(application=application, by=by, comment=comment, internal_note=internal_note)
    return application_act(application=application, name=name, by=by, comment=comment, internal_note=internal_note)


# ---------------------------------------------------------------------------- the application's lead

# The roles that handle applications, and so may lead one: claim it for themselves or be assigned it.
LEAD_ROLES = (
    roles.PROVINCIAL_STAFF,
    roles.SUB_VENUE_OPERATOR,
    roles.REVIEWER,
    roles.APPROVER,
    roles.REGISTRATION_OFFICER,
    roles.FINANCE_OFFICER,
)
# Provincial staff, and a sub-venue's operator for its own applications, share out the work.
LEAD_ASSIGNERS = (roles.PROVINCIAL_STAFF, roles.SUB_VENUE_OPERATOR)


def _check_lead_possible(application: Application) -> None:
    if application.state == S.DRAFT or application.state in Application.ENDED_STATES:
        raise TransitionNotAllowed(
            _("Only an application being handled (submitted and not yet closed) can have a lead.")
        )


def _set_lead(locked: Application, lead, by, action: str, note: str) -> Application:
    before = audit.snapshot(locked)
    locked.lead = lead
    locked.save(update_fields=["lead"])
    audit.record_changed(locked, action="funding.application.changed", before=before, actor=by)
    _history(locked, action, locked.state, locked.state, by, internal_note=note)
    return locked


def application_claim(*, application: Application, by) -> Application:
    """`by` takes the lead of the application. Refused (with who leads it) when someone else already leads
    it: only an assignment by provincial staff or the sub-venue's operator moves the lead. Claiming one's own
    application again changes nothing and writes nothing."""
    with transaction.atomic():
        locked = _lock(application)
        if not roles.has_role(by, *LEAD_ROLES):
            raise TransitionForbidden(_("Only staff who handle applications may lead one."))
        _check_scope(by, locked)
        _check_lead_possible(locked)
        if locked.lead_id == by.pk:
            return locked
        if locked.lead_id is not None:
            raise FundingError(
                _(
                    "%(user)s already leads this application. Ask provincial staff or the sub-venue's operator "
                    "to assign it to you."
                )
                % {"user": locked.lead}
            )
        return _set_lead(
            locked, by, by, "funding.application.lead_claimed", _("Lead claimed by %(user)s") % {"user": by}
        )


def application_assign_lead(*, application: Application, lead, by) -> Application:
    """Provincial staff, or the operator of the application's sub-venue, make `lead` (an active staff member
    who handles applications and reaches its sub-venue) the lead, replacing whoever led it."""
    with transaction.atomic():
        locked = _lock(application)
        if not roles.has_role(by, *LEAD_ASSIGNERS):
            raise TransitionForbidden(_("Only provincial staff and sub-venue operators may assign the lead."))
        _check_scope(by, locked)
        _check_lead_possible(locked)
        if not (lead.is_active and roles.has_role(lead, *LEAD_ROLES)):
            raise FundingError(_("%(user)s does not hold a role that handles applications.") % {"user": lead})
        if not scoping.may_work_on_sub_venue(lead, locked.sub_venue_id):
            raise FundingError(_("%(user)s does not operate this application's sub-venue.") % {"user": lead})
        if locked.lead_id == lead.pk:
            return locked
        return _set_lead(
            locked, lead, by, "funding.application.lead_assigned", _("Lead assigned to %(user)s") % {"user": lead}
        )


def lead_candidates():
    """The active staff who may be assigned the lead, by address (one query; scoping is checked on assignment)."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(is_active=True, groups__name__in=LEAD_ROLES).distinct().order_by("email")


def review_assign(*, application: Application, reviewer, by) -> ExpertReview:
    with transaction.atomic():
        locked = _lock(application)
        if not roles.has_role(by, roles.REVIEWER, roles.PROVINCIAL_STAFF):
            raise TransitionForbidden(_("Only reviewers and provincial staff may assign expert reviewers."))
        _check_scope(by, locked)
        if locked.state not in (S.FORMAL_REVIEW, S.EXPERT_REVIEW):
            raise TransitionNotAllowed(_("Expert reviewers are assigned during the formal or expert review."))
        if not roles.has_role(reviewer, roles.REVIEWER):
            raise FundingError(_("%(user)s does not hold the reviewer role.") % {"user": reviewer})
        review, created = ExpertReview.objects.get_or_create(
            application=locked, reviewer=reviewer, defaults={"assigned_by": by}
        )
        if created:
            audit.record_created(review, action="funding.review.created", actor=by)
            _history(
                locked,
                "funding.review.assigned",
                locked.state,
                locked.state,
                by,
                internal_note=_("Expert reviewer assigned: %(user)s") % {"user": reviewer},
            )
    return review


def review_submit(*, review: ExpertReview, by, score: int, recommendation: str, opinion: str) -> ExpertReview:
    with transaction.atomic():
        locked_app = _lock(review.application)
        review = ExpertReview.objects.select_for_update().get(pk=review.pk)
        if review.reviewer_id != by.pk:
            raise TransitionForbidden(_("Only the assigned reviewer may submit this review."))
        if locked_app.state != S.EXPERT_REVIEW:
            raise TransitionNotAllowed(_("Reviews can be submitted only during the expert review."))
        if not 0 <= score <= 100:
            raise FundingError(_("The score must be between 0 and 100."))
        before = audit.snapshot(review)
        review.score, review.recommendation, review.opinion = score, recommendation, opinion
        review.submitted_at = timezone.now()
        review.save(update_fields=["score", "recommendation", "opinion", "submitted_at"])
        audit.record_changed(review, action="funding.review.changed", before=before, actor=by)
        _history(
            locked_app,
            "funding.review.submitted",
            locked_app.state,
            locked_app.state,
            by,
            internal_note=_("Score %(score)s, recommendation: %(rec)s")
            % {"score": score, "rec": review.get_recommendation_display()},
        )
    return review


def application_approve(
    *, application: Application, by, approved_amount: Decimal | None = None, comment: str = "", internal_note: str = ""
) -> Application:
    """Approve and reserve the amount from the sub-venue's budget for this year, under a row lock."""

    def apply(app: Application) -> list[str]:
        amount = approved_amount if approved_amount is not None else app.amount
        if amount > app.amount:
            raise FundingError(
                _("The approved amount cannot exceed the %(amount)s yuan requested.") % {"amount": f"{app.amount:,.2f}"}
            )
        if problem := amount_problem(amount, app.policy):
            raise FundingError(problem)
        today = timezone.localdate()
        # The budget row only: see _budget_locked.
        budget = (
            SubVenueBudget.objects.select_for_update(of=("self",))
            .filter(sub_venue=app.sub_venue, year=today.year)
            .order_by()
            .first()
        )
        if budget is None:
            raise FundingError(
                _("%(venue)s has no fund budget for %(year)s; finance must set one first.")
                % {"venue": app.sub_venue, "year": today.year}
            )
        if budget.remaining < amount:
            raise FundingError(
                _("The budget of %(venue)s for %(year)s has %(remaining)s yuan left, less than %(amount)s yuan.")
                % {
                    "venue": app.sub_venue,
                    "year": today.year,
                    "remaining": f"{budget.remaining:,.2f}",
                    "amount": f"{amount:,.2f}",
                }
            )
        _budget_moved(budget, by, reserved=amount)
        app.approved_amount, app.budget = amount, budget
        app.decided_at, app.decided_by = timezone.now(), by
        app.notice_ends_on, app.notice_ends_at = notice_end(app.policy, now=app.decided_at)
        return ["approved_amount", "budget", "decided_at", "decided_by", "notice_ends_on", "notice_ends_at"]

    return _transition(application, "approve", by=by, comment=comment, internal_note=internal_note, apply=apply)


def application_record_objection(*, application: Application, by, objection: str) -> Application:
    with transaction.atomic():
        locked = _lock(application)
        if not roles.has_role(by, roles.APPROVER, roles.PROVINCIAL_STAFF):
            raise TransitionForbidden(_("Only approvers and provincial staff may record objections."))
        _check_scope(by, locked)
        if locked.state != S.PUBLIC_NOTICE:
            raise TransitionNotAllowed(_("Objections are recorded during the public notice."))
        if not objection.strip():
            raise FundingError(_("Describe the objection."))
        before = audit.snapshot(locked)
        locked.objection = objection.strip()
        locked.save(update_fields=["objection"])
        audit.record_changed(locked, action="funding.application.changed", before=before, actor=by)
        _history(
            locked,
            "funding.application.objection_recorded",
            locked.state,
            locked.state,
            by,
            internal_note=locked.objection,
        )
    return locked


def application_clear_objection(*, application: Application, by, comment: str) -> Application:
    with transaction.atomic():
        locked = _lock(application)
        if not roles.has_role(by, roles.APPROVER):
            raise TransitionForbidden(_("Only approvers may clear an objection."))
        _check_scope(by, locked)
        if locked.state != S.PUBLIC_NOTICE or not locked.objection:
            raise TransitionNotAllowed(_("There is no objection to clear."))
        before = audit.snapshot(locked)
        locked.objection = ""
        locked.save(update_fields=["objection"])
        audit.record_changed(locked, action="funding.application.changed", before=before, actor=by)
        _history(locked, "funding.application.objection_cleared", locked.state, locked.state, by, internal_note=comment)
    return locked


def application_revoke(*, application: Application, by, comment: str, internal_note: str = "") -> Application:
    """Revoke an approval during the public notice; the reservation goes back to the budget."""

    def apply(app: Application) -> list[str]:
        _budget_moved(_budget_locked(app.budget_id), by, reserved=-app.approved_amount)
        app.approved_amount, app.budget = None, None
        return ["approved_amount", "budget"]

    return _transition(application, "revoke", by=by, comment=comment, internal_note=internal_note, apply=apply)


def application_end_notice(*, application: Application, by=None, comment: str = "") -> Application:
    return _transition(application, "end_notice", by=by, comment=comment)


def public_notices_end_due(*, today: datetime.date | None = None) -> list[int]:
    """Move on every application whose notice period has ended without an objection. Safe to run twice."""
    today = today or timezone.localdate()
    # Whole-day notices end at the midnight after their last day; a demo notice in minutes at its moment.
    over = Q(notice_ends_at__isnull=True, notice_ends_on__lt=today) | Q(notice_ends_at__lte=timezone.now())
    due = Application.objects.filter(over, state=S.PUBLIC_NOTICE, objection="")
    moved = []
    for pk in due.values_list("pk", flat=True):
        try:
            application_end_notice(application=Application(pk=pk), by=None)
        except WorkflowError:
            continue  # someone acted on it meanwhile; the next run looks again
        moved.append(pk)
    return moved


# ---------------------------------------------------------------------------- registration and money


def application_verify_registration(
    *,
    application: Application,
    by,
    company_name: str,
    uscc: str,
    registered_on: datetime.date,
    registered_capital: Decimal,
    paid_in_capital: Decimal,
    legal_representative: str,
    comment: str = "",
) -> Application:
    """Government staff record the company they registered for the entity. A research team becomes a startup
    in place, so its members, achievements and history stay with it."""

    def apply(app: Application) -> list[str]:
        if paid_in_capital > registered_capital:
            raise FundingError(_("Paid-in capital cannot exceed registered capital."))
        limit = paid_in_limit(app, paid_in_capital)
        if app.approved_amount > limit:
            raise FundingError(
                _(
                    "The grant of %(amount)s yuan is more than %(share)s%% of the paid-in capital (at most %(limit)s "
                    "yuan). Check the paid-in capital, or revise the approved amount down first."
                )
                % {
                    "amount": f"{app.approved_amount:,.2f}",
                    "share": f"{app.max_paid_in_share * 100:.0f}",
                    "limit": f"{limit:,.2f}",
                }
            )
        # The company itself is recorded by the teams app, the one place that knows registrations.
        registration_record(
            entity=app.entity,
            by=by,
            company_name=company_name,
            uscc=uscc,
            registered_on=registered_on,
            registered_capital=registered_capital,
            paid_in_capital=paid_in_capital,
            legal_representative=legal_representative,
        )
        app.paid_in_capital = paid_in_capital
        # The agreement in the same transaction, under the application's row lock: made exactly once.
        _agreement_create(app, by=by)
        return ["paid_in_capital"]

    return _transition(application, "verify_registration", by=by, comment=comment, apply=apply)


def paid_in_limit(app: Application, paid_in_capital: Decimal) -> Decimal:
    """The most the grant may be for this paid-in capital (the policy's share, to the fen)."""
    return (paid_in_capital * app.max_paid_in_share).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def revised_amount_problem(app: Application, amount: Decimal) -> str | None:
    """Why the approved amount of `app` cannot be revised to `amount` (a translated reason), or None: only down,
    never below the policy minimum. Forms call it to show the reason beside the field."""
    if amount >= app.approved_amount:
        return _("The revised amount must be less than the %(amount)s yuan approved.") % {
            "amount": f"{app.approved_amount:,.2f}"
        }
    if amount < app.min_amount:
        return _(
            "The fund's minimum is %(min)s yuan; if the paid-in capital allows less, reject the application "
            "at registration instead."
        ) % {"min": f"{app.min_amount:,.2f}"}
    return None


def application_revise_amount(*, application: Application, by, amount: Decimal, comment: str) -> Application:
    """Revise the approved amount down during registration verification (the verified paid-in capital allows
    less than was approved); the budget's reservation shrinks by the difference. Never up, never below the
    policy minimum (then the grant is rejected at registration instead)."""

    def apply(app: Application) -> list[str]:
        if problem := revised_amount_problem(app, amount):
            raise FundingError(problem)
        _budget_moved(_budget_locked(app.budget_id), by, reserved=amount - app.approved_amount)
        app.approved_amount = amount
        return ["approved_amount"]

    return _transition(application, "revise_amount", by=by, comment=comment, apply=apply)


def application_reject_at_registration(*, application: Application, by, comment: str) -> Application:
    """End a grant whose company's paid-in capital cannot carry even the minimum grant: the reservation goes
    back to the budget."""

    def apply(app: Application) -> list[str]:
        _budget_moved(_budget_locked(app.budget_id), by, reserved=-app.approved_amount)
        app.approved_amount, app.budget = None, None
        return ["approved_amount", "budget"]

    return _transition(application, "reject_at_registration", by=by, comment=comment, apply=apply)


def application_disburse(
    *, application: Application, by, paid_on: datetime.date, reference: str, amount: Decimal | None = None
) -> Disbursement:
    """Release the next instalment of the plan (its amount, or refuse an `amount` that differs). Each after the
    first needs the accepted fund-use report on the one before (the report is tied to the instalment it
    released: one report, one release), the last also the passed final acceptance, and it closes the grant.
    Every instalment but the last opens the fund-use report that is due on it."""
    created: list[Disbursement] = []

    def apply(app: Application) -> list[str]:
        if amount is not None and amount <= 0:
            raise FundingError(_("The instalment must be more than zero."))
        problem, planned, report = release_problem(app, amount)
        if problem:
            raise FundingError(problem)
        # Every lock before the first audit entry (see the module's docstring): the budget, then the entries.
        budget = _budget_locked(app.budget_id)
        disbursement = Disbursement.objects.create(
            application=app,
            number=planned.number,
            amount=planned.amount,
            paid_on=paid_on,
            reference=reference,
            recorded_by=by,
            released_by_report=report,
        )
        audit.record_created(disbursement, action="funding.disbursement.created", actor=by)
        created.append(disbursement)
        _budget_moved(budget, by, disbursed=planned.amount)
        app.disbursed_total += planned.amount
        if app.remaining_to_disburse > 0:
            days = app.agreement.policy.report_due_days
            fund_use_report = FundUseReport.objects.create(
                application=app,
                instalment=disbursement,
                due_on=paid_on + datetime.timedelta(days=days),
                disbursed=app.disbursed_total,
            )
            audit.record_created(fund_use_report, action="funding.fund_use_report.created", actor=by)
        return ["disbursed_total"]

    # One transaction: the instalment that completes the approved amount closes the application with it.
    with transaction.atomic():
        app = _transition(
            application,
            "disburse",
            by=by,
            apply=apply,
            # Written once the instalment is known, under the lock (see _transition_locked).
            message=lambda app: system_message(
                "instalment_paid", number=created[0].number, amount=created[0].amount, date=paid_on
            ),
        )
        paid = created[0]
        if app.remaining_to_disburse == 0:
            _transition(app, "close", by=None, message=system_message("paid_in_full"))
    return paid


# ---------------------------------------------------------------------------- the funding agreement

FEN = Decimal("0.01")


def instalment_split(amount: Decimal, shares) -> list[Decimal]:
    """The amounts of the instalments of `amount` for `shares` (percent, adding up to 100).

    Rounding rule: each instalment but the last is its share of the amount rounded DOWN to the fen; the
    last takes the remainder. So the amounts always add up to `amount` exactly, and any fen left over by the
    rounding is paid with the last instalment (never earlier than the plan says)."""
    shares = list(shares)
    amounts = [(amount * share / 100).quantize(FEN, rounding=ROUND_DOWN) for share in shares[:-1]]
    amounts.append(amount - sum(amounts, Decimal("0.00")))
    return amounts


def _agreement_create(app: Application, *, by) -> FundingAgreement:
    """The agreement of `app` (locked by the caller) with the plan of the policy in force now."""
    if FundingAgreement.objects.filter(application=app).exists():
        raise FundingError(_("This application already has a funding agreement."))
    policy = policy_current()
    agreement = FundingAgreement.objects.create(
        application=app, amount=app.approved_amount, purpose=app.purpose, policy=policy, recorded_by=by
    )
    shares = policy.instalment_shares
    amounts = instalment_split(app.approved_amount, shares)
    # The split's promise, checked where it matters: a plan that does not add up is never saved.
    if sum(amounts) != app.approved_amount or any(value <= 0 for value in amounts):
        raise FundingError(_("The instalment plan does not add up to the approved amount."))
    PlannedInstalment.objects.bulk_create(
        PlannedInstalment(agreement=agreement, number=number, share=share, amount=value)
        for number, (share, value) in enumerate(zip(shares, amounts, strict=True), start=1)
    )
    audit.record_created(
        agreement,
        action="funding.agreement.created",
        actor=by,
        after={
            **audit.snapshot(agreement),
            "instalments": [
                {"number": n, "share": str(sh), "amount": str(v)}
                for n, (sh, v) in enumerate(zip(shares, amounts, strict=True), start=1)
            ],
        },
    )
    return agreement


def _milestone_list(agreement: FundingAgreement) -> list[dict]:
    return [
        {"order": m.order, "title": m.title, "due_on": m.due_on.isoformat()}
        for m in agreement.milestones.order_by("order")
    ]


def agreement_amend_milestones(*, agreement: FundingAgreement, by, milestones, reason: str) -> FundingAgreement:
    """Replace the agreement's milestones with `milestones` (a list of {"title", "due_on"} in order), keeping
    the list before in an append-only MilestoneAmendment with the reason. Whoever may verify registrations
    may amend (the staff who record the agreement), within their sub-venues."""
    if not roles.has_role(by, *(WORKFLOW["verify_registration"].allowed - {OWNER, SYSTEM})):
        raise TransitionForbidden(_("Only the registration officers may amend an agreement's milestones."))
    if not reason.strip():
        raise FundingError(_("Write the reason for the amendment."))
    cleaned = []
    for item in milestones:
        title = str(item.get("title", "")).strip()
        due_on = item.get("due_on")
        if isinstance(due_on, str):
            due_on = datetime.date.fromisoformat(due_on)
        if not title or not isinstance(due_on, datetime.date):
            raise FundingError(_("Each milestone needs a title and a due date."))
        cleaned.append((title, due_on))
    with transaction.atomic():
        app = _lock(agreement.application)
        _check_scope(by, app)
        agreement = FundingAgreement.objects.select_for_update().get(pk=agreement.pk)
        old = _milestone_list(agreement)
        agreement.milestones.all().delete()
        AgreementMilestone.objects.bulk_create(
            AgreementMilestone(agreement=agreement, order=order, title=title, due_on=due_on)
            for order, (title, due_on) in enumerate(cleaned, start=1)
        )
        amendment = MilestoneAmendment.objects.create(
            agreement=agreement, old_milestones=old, new_milestones=_milestone_list(agreement), reason=reason, by=by
        )
        audit.record_created(amendment, action="funding.agreement.milestones_amended", actor=by)
    return agreement


# ---------------------------------------------------------------------------- the mechanism


def _lock(application: Application) -> Application:
    """Re-read the application under a row lock (PostgreSQL; SQLite serialises writers anyway), with what the
    checks and the mail read (the entity and its owner, the policy, the sub-venue) in the same query."""
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("entity__owner", "policy", "sub_venue")
        .get(pk=application.pk)
    )


def _check_scope(by, application: Application) -> None:
    if by is not None and not scoping.may_work_on_sub_venue(by, application.sub_venue_id):
        raise TransitionForbidden(_("This application belongs to a sub-venue you do not operate."))


def _label(model) -> str:
    return model._meta.label_lower


def _history(
    application, action, from_state, to_state, by, comment="", internal_note="", message: Message | None = None
) -> ApplicationEvent:
    """Append the history row of a step and its audit entry: the row's action, the application as the
    object, the state before, and after it the state, the comment, the portal's message (a code of
    funding.messages, rendered in the reader's language) and the internal note."""
    code, params = message or ("", {})
    event = ApplicationEvent.objects.create(
        application=application,
        action=action,
        from_state=from_state,
        to_state=to_state,
        by=by,
        comment=comment,
        message=code,
        params=params,
        internal_note=internal_note,
    )
    after = {"state": to_state, "comment": comment, "internal_note": internal_note}
    if code:
        after.update(message=code, params=params)
    audit.record(
        action=action,
        actor=by,
        object_type=_label(Application),
        object_id=application.pk,
        before={"state": from_state},
        after=after,
    )
    return event


# Friendly words for the database's own guards, for the rare race that gets past the checks above.
CONSTRAINT_MESSAGES = {
    "application_one_open_per_entity": lambda: _("The entity already has an open application."),
    "application_one_grant_per_entity": lambda: _("The entity has already been granted the fund; it is granted once."),
    "budget_never_overspent": lambda: _("The sub-venue's budget does not have enough left for this approval."),
    "application_instalments_within_approval": lambda: _("Instalments cannot add up to more than the approved amount."),
    "application_within_paid_in_share": lambda: _("The grant would exceed the allowed share of paid-in capital."),
}


def _integrity_message(error: IntegrityError) -> str:
    text = str(error)
    for name, message in CONSTRAINT_MESSAGES.items():
        if name in text:
            return message()
    return _("The change breaks a rule of the fund and was not saved.")


def _transition(
    application: Application,
    name: str,
    *,
    by,
    comment: str = "",
    internal_note: str = "",
    apply=None,
    message: Message | None = None,
) -> Application:
    try:
        return _transition_locked(
            application, name, by=by, comment=comment, internal_note=internal_note, apply=apply, message=message
        )
    except IntegrityError as error:
        raise FundingError(_integrity_message(error)) from error


def _transition_locked(application, name, *, by, comment, internal_note, apply, message=None) -> Application:
    with transaction.atomic():
        app = _lock(application)
        transition = WORKFLOW.check(name, app, by)
        if by is not None and app.entity.owner_id != by.pk:
            _check_scope(by, app)
        if transition.needs_comment and not comment.strip():
            raise FundingError(_("Write a comment for the applicant: it says why."))
        before = audit.snapshot(app)
        from_state = app.state
        fields = apply(app) if apply else []
        if callable(message):  # a message that says what `apply` did
            message = message(app)
        app.state = transition.target
        app.save(update_fields=["state", *fields])
        audit.record_changed(app, action="funding.application.changed", before=before, actor=by)
        event = _history(app, history_action(name), from_state, app.state, by, comment, internal_note, message)
        notify_transition(app, event)
    return app
