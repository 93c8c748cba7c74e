"""Demo data for the start-up fund: a budget per open sub-venue and applications in every state,
walked there through the real services so their histories are complete. Idempotent: demo
applications are found again by their purpose line."""

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from funding import post_award, services
from funding.models import Application, ExpertReview, FinalAcceptance, FundUseReport
from teams.models import Entity, Registration
from valley import audit
from valley.models import SubVenue, User

DEMO_PREFIX = "[demo] "
# The demo policy's public notice (services.policy_add_demo): short enough that a newcomer sees the worker end
# it while they look around, long enough to see the grant on the public notice page first.
DEMO_NOTICE_MINUTES = 2
S = Application.State

# The state each demo application is walked to, in order along the workflow.
DEMO_STATES = [
    S.DRAFT,
    S.SUBMITTED,
    S.FORMAL_REVIEW,
    S.EXPERT_REVIEW,
    S.AWAITING_DECISION,
    S.RETURNED,
    S.REJECTED,
    S.WITHDRAWN,
    S.PUBLIC_NOTICE,
    S.REGISTRATION,
    S.DISBURSEMENT,
    S.RECOVERY,
    S.CLOSED,
]


def _user(local: str) -> User:
    return User.objects.get(email=f"{local}@demo.valley.example.cn")


def walk_to(application: Application, target: str, people: dict) -> Application:
    """Take `application` from draft along the workflow until it reaches `target`."""
    app = application
    applicant, reviewer, approver = people["applicant"], people["reviewer"], people["approver"]
    if target == S.DRAFT:
        return app
    if target == S.WITHDRAWN:
        app = services.application_submit(application=app, by=applicant)
        return services.application_withdraw(application=app, by=applicant, comment="团队决定下一年度再申请。")
    app = services.application_submit(application=app, by=applicant)
    if target == S.SUBMITTED:
        return app
    app = services.application_act(application=app, name="start_formal_review", by=reviewer)
    if target == S.FORMAL_REVIEW:
        return app
    if target == S.RETURNED:
        return services.application_act(
            application=app, name="return_for_changes", by=reviewer, comment="请补充中试计划的时间表和预算明细。"
        )
    app = services.application_act(application=app, name="pass_formal_review", by=reviewer)
    review = services.review_assign(application=app, reviewer=reviewer, by=reviewer)
    if target == S.EXPERT_REVIEW:
        return app
    services.review_submit(
        review=review,
        by=reviewer,
        score=86,
        recommendation=ExpertReview.Recommendation.APPROVE,
        opinion="技术路线清晰，市场前景较好。",
    )
    app = services.application_act(application=app, name="complete_expert_review", by=reviewer)
    if target == S.AWAITING_DECISION:
        return app
    if target == S.REJECTED:
        return services.application_act(
            application=app, name="reject", by=approver, comment="成果尚处实验室阶段，建议完成中试后再申请。"
        )
    app = services.application_approve(application=app, by=approver, comment="同意资助。")
    if target == S.PUBLIC_NOTICE:
        return app
    _back_date_notice(app)
    app = services.application_end_notice(application=app, by=None)
    if target == S.REGISTRATION:
        return app
    registration = Registration.objects.filter(entity=app.entity).first()
    paid_in = max(registration.paid_in_capital if registration else Decimal("0"), app.approved_amount * 2)
    app = services.application_verify_registration(
        application=app,
        by=people["registration"],
        company_name=registration.company_name if registration else f"{app.entity.name_zh}有限公司",
        uscc=registration.uscc if registration else people["next_uscc"](),
        registered_on=timezone.localdate(),
        registered_capital=paid_in,
        paid_in_capital=paid_in,
        legal_representative=registration.legal_representative if registration else "王建国",
    )
    paid_on = timezone.localdate()
    services.application_disburse(application=app, by=people["finance"], paid_on=paid_on, reference=f"DEMO-{app.pk}-1")
    if target == S.DISBURSEMENT:
        return app
    if target == S.RECOVERY:
        post_award.recovery_open(
            application=app,
            by=people["finance"],
            reason="misuse",
            explanation="资金用于与项目无关的支出。Funds spent on costs unrelated to the project.",
            amount=app.agreement.instalments.get(number=1).amount,
        )
        return app
    # Each report accepted, the next instalment released; the last after the final acceptance.
    for _number in range(2, app.agreement.instalments.count() + 1):
        release_next(app, people, paid_on=paid_on)
    return app


def release_next(application: Application, people: dict, *, paid_on: datetime.date | None = None):
    """Release the next instalment of the plan the way staff would: the open fund-use report filed by the
    applicant and accepted by finance, and before the last instalment the final acceptance recorded as passed.
    Returns the instalment paid."""
    app = Application.objects.get(pk=application.pk)
    paid_on = paid_on or timezone.localdate()
    planned = app.agreement.instalments.count()
    paid = app.disbursements.count()
    if app.fund_use_reports.exclude(state=FundUseReport.State.ACCEPTED).exists():
        file_report(app, people, accept=True)
    if paid + 1 == planned and not FinalAcceptance.objects.filter(application=app).exists():
        post_award.acceptance_record(
            application=app,
            by=people["approver"],
            result="passed",
            reasons="里程碑均已完成。All milestones were met.",
            accepted_on=paid_on,
        )
    return services.application_disburse(
        application=app, by=people["finance"], paid_on=paid_on, reference=f"DEMO-{app.pk}-{paid + 1}"
    )


DEMO_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def file_report(app: Application, people: dict, *, accept: bool = False, submit: bool = True):
    """The applicant files the open fund-use report of `app`: the whole disbursed amount spent on two lines,
    an invoice attached, submitted (and accepted by finance when `accept`)."""
    report = app.fund_use_reports.exclude(state="accepted").order_by("pk").first()
    owner = app.entity.owner
    equipment = (report.disbursed * Decimal("0.6")).quantize(Decimal("0.01"))
    post_award.report_save(
        report=report,
        by=owner,
        spent=report.disbursed,
        summary="按计划采购设备、开展中试。Equipment bought and pilot runs held as planned.",
        lines=[
            {"category": "equipment", "amount": equipment, "description": "中试设备 pilot equipment"},
            {"category": "testing", "amount": report.disbursed - equipment, "description": "中试 pilot runs"},
        ],
        progress={m.order: "按期推进 on schedule" for m in app.agreement.milestones.all()},
    )
    if not report.documents.exists():
        post_award.report_attach_document(
            report=report,
            by=owner,
            title="发票 Invoice",
            upload=SimpleUploadedFile("invoice.pdf", DEMO_PDF, content_type="application/pdf"),
        )
    if submit:
        report = post_award.report_submit(report=report, by=owner)
    if accept:
        report = post_award.report_accept(report=report, by=people["finance"], comment="已核实。Checked.")
    return report


def _back_date_notice(application: Application) -> None:
    """The notice period is over for the older demo grants: demo data only (a real notice runs its days, and
    no service shortens it), recorded in the audit log like any change of a decision."""
    with transaction.atomic():
        locked = Application.objects.select_for_update(of=("self",)).get(pk=application.pk)
        before = audit.snapshot(locked)
        locked.notice_ends_on = timezone.localdate() - datetime.timedelta(days=1)
        if locked.notice_ends_at:  # under the demo policy's notice in minutes
            locked.notice_ends_at = timezone.now() - datetime.timedelta(days=1)
        locked.save(update_fields=["notice_ends_on", "notice_ends_at"])
        audit.record_changed(locked, action="funding.application.changed", before=before, extra={"reason": "demo data"})


def _notice_in_days(app: Application, people: dict) -> None:
    """The demo grant on public notice stays there: its notice runs the policy's days, not the demo policy's
    minutes (which would let the worker end it before anyone looks). Demo data only, in the audit log."""
    with transaction.atomic():
        locked = Application.objects.select_for_update(of=("self",)).get(pk=app.pk)
        before = audit.snapshot(locked)
        locked.notice_ends_on = timezone.localdate() + datetime.timedelta(days=locked.policy.notice_days)
        locked.notice_ends_at = None
        locked.save(update_fields=["notice_ends_on", "notice_ends_at"])
        audit.record_changed(locked, action="funding.application.changed", before=before, extra={"reason": "demo data"})


def _back_date_report(report: FundUseReport, *, days_overdue: int) -> None:
    """An overdue report for the demo: its due date moved into the past (demo data only: a real report falls
    due its policy days after the instalment, and no service moves that), recorded in the audit log."""
    with transaction.atomic():
        locked = FundUseReport.objects.select_for_update(of=("self",)).get(pk=report.pk)
        before = audit.snapshot(locked)
        locked.due_on = timezone.localdate() - datetime.timedelta(days=days_overdue)
        locked.save(update_fields=["due_on"])
        audit.record_changed(
            locked, action="funding.fund_use_report.changed", before=before, extra={"reason": "demo data"}
        )


# ---------------------------------------------------------------------------- the life after the money
# Each takes a grant walk_to left in its state (its first instalment paid, the report on it to be filed, due in
# the policy's days) and moves it to one more step of the life after the money.


def _report_submitted(app: Application, people: dict) -> None:
    file_report(app, people)


def _report_returned(app: Application, people: dict) -> None:
    report = file_report(app, people)
    post_award.report_return(
        report=report,
        by=people["finance"],
        comment="请补充中试设备的采购合同。Please attach the purchase contract of the pilot equipment.",
    )


def _report_overdue(app: Application, people: dict) -> None:
    _back_date_report(app.fund_use_reports.get(), days_overdue=10)


def _report_accepted(app: Application, people: dict) -> None:
    file_report(app, people, accept=True)


def _partly_repaid(app: Application, people: dict) -> None:
    order = app.recovery
    post_award.recovery_repay(
        application=app,
        by=people["finance"],
        amount=(order.amount * Decimal("0.4")).quantize(Decimal("0.01")),
        paid_on=timezone.localdate(),
        reference=f"DEMO-R-{app.pk}-1",
    )


# Every demo application: the state walk_to takes it to, then what the demo adds there. In the order of the
# entities they are given to; new steps go at the end, so that a demo loaded before keeps its applications
# and gets only the new ones. With DEMO_STATES these are the grants at every step after the money: a report to
# be filed and not yet due (the plain "disbursement"), submitted and waiting for review, returned for changes,
# overdue, accepted with the next instalment ready to release; closed after a passed final acceptance (the
# plain "closed"); and in recovery, partly repaid.
DEMO_STEPS = [
    *((state, {S.RECOVERY: _partly_repaid, S.PUBLIC_NOTICE: _notice_in_days}.get(state)) for state in DEMO_STATES),
    (S.DISBURSEMENT, _report_submitted),
    (S.DISBURSEMENT, _report_returned),
    (S.DISBURSEMENT, _report_overdue),
    (S.DISBURSEMENT, _report_accepted),
]


def seed(log) -> None:
    year = timezone.localdate().year
    finance = _user("finance")
    # Before the applications are submitted, so they (and the newcomer's) are judged under it. Not where demo
    # policies do not count (seed_demo --allow-production with DEBUG off): there notices run their days.
    if settings.FUNDING_DEMO_POLICIES:
        services.policy_add_demo(notice_minutes=DEMO_NOTICE_MINUTES)
    for venue in SubVenue.objects.filter(status=SubVenue.Status.OPEN).exclude(fund_budgets__year=year):
        services.budget_create(by=finance, sub_venue=venue, year=year, amount=Decimal("30000000.00"))
    # The demo applicant keeps the first entity; the other demo applications belong to staff-kept entities
    # that we hand to the demo applicant account only for the walk.
    entities = list(Entity.objects.filter(residencies__sub_venue__code="taiyuan").order_by("pk")[: len(DEMO_STEPS)])
    done = set(
        Application.objects.filter(purpose__startswith=DEMO_PREFIX, entity__in=entities).values_list(
            "entity_id", flat=True
        )
    )
    if len(done) == len(entities):
        log(f"funding: {Application.objects.count()} applications (demo already loaded)")
        return
    applicant = _user("applicant")
    people = {
        "applicant": applicant,
        "reviewer": _user("reviewer"),
        "approver": _user("approver"),
        "registration": _user("registration"),
        "finance": _user("finance"),
    }
    from teams.demo import demo_uscc

    serial = iter(range(900, 999))
    people["next_uscc"] = lambda: demo_uscc(next(serial))
    for index, (entity, (state, then)) in enumerate(zip(entities, DEMO_STEPS, strict=False)):
        if entity.pk in done:
            continue
        original_owner = entity.owner_id
        Entity.objects.filter(pk=entity.pk).update(owner=applicant)
        entity.refresh_from_db()
        application = services.application_create(
            entity=entity,
            by=applicant,
            # 400,000 to 950,000 yuan: within the policy's limits however many steps there are.
            amount=Decimal(400000 + 50000 * (index % 12)),
            purpose=f"{DEMO_PREFIX}{entity.name_zh}中试与产业化",
            plan="建设中试线，完成工艺放大，注册成立公司并实现首批销售。",
        )
        walk_to(application, state, people)
        if then is not None:
            then(Application.objects.get(pk=application.pk), {**people, "applicant": applicant})
        if index != 0:
            Entity.objects.filter(pk=entity.pk).update(owner_id=original_owner)
    log(f"funding: {Application.objects.count()} applications in {len(DEMO_STATES)} states")
