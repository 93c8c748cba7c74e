"""The portfolio in the staff admin. Portfolio managers edit funds and investments; auditors only view
(both through the model permissions valley/roles.py gives their groups). Reports and exemption
determinations are written only by the compliance check, so nobody edits them here.

The forms validate; the services write. Saving a fund, an investment or a party, its inline parties,
and deleting one, call tolerance/portfolio.py, so an admin edit takes the same locks, rules and audit
entries as every other door. A change of an investment's state becomes the workflow's transitions
(tolerance/workflow.py, `path_to`)."""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from tolerance import documents, portfolio, selectors
from tolerance.forms import InvestmentDocumentForm
from tolerance.models import (
    STANDARDS,
    CaseEvent,
    CaseEvidence,
    CaseStatement,
    CompanyReport,
    CompanyReportEvent,
    ComplianceReport,
    ExemptionCase,
    ExemptionDetermination,
    Fund,
    Investment,
    InvestmentDocument,
    InvestmentParty,
    Verdict,
    standing_determinations,
)
from tolerance.services import compliance_check_run_many, report_delete
from tolerance.workflow import CASE_WORKFLOW, WORKFLOW
from tolerance.workflow import REPORT_WORKFLOW as COMPANY_REPORT_WORKFLOW
from valley.templatetags.valley_format import percent
from valley.web.admin_format import NumbersAdminMixin, action_column
from valley.web.admin_initial import ValidInitialMixin
from valley.web.admin_lists import LargeTableAdminMixin, year_filter
from valley.web.admin_services import ServiceErrorsAsMessagesMixin, adopt_saved


def _form_values(form, names) -> dict:
    return {name: form.cleaned_data[name] for name in names if name in form.cleaned_data}


class ComplianceBannerMixin:
    """Shows, above the changelist, every fund whose latest check is a warning or a breach."""

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            for report in selectors.fund_alerts():
                facts = {
                    "fund": report.fund.name,
                    "as_of": report.as_of.isoformat(),
                    "verdict": report.get_verdict_display(),
                    "rate": report.shown_governing_rate,
                    "threshold": percent(report.tolerance_threshold),
                    "unqualified": report.unqualified_failed_count,
                }
                if report.verdict == Verdict.NO_DATA:
                    text = gettext(
                        "%(fund)s, checked as of %(as_of)s: no data (no investment meets all five standards)."
                    )
                else:
                    text = gettext(
                        "%(fund)s, checked as of %(as_of)s: %(verdict)s, governing failure rate %(rate)s against "
                        "%(threshold)s."
                    )
                if report.unqualified_failed_count:
                    text += " " + gettext(
                        "%(unqualified)s failed project(s) did not meet the standards; "
                        "no exemption is recorded for them."
                    )
                text = text % facts
                level = messages.ERROR if report.verdict == Verdict.BREACH else messages.WARNING
                self.message_user(request, text, level=level)
        return super().changelist_view(request, extra_context)


class NoManualWritesMixin:
    """Computed records: added and changed only by the compliance check. A superuser may remove one
    made in error, through `remove` (a service that records the removal)."""

    remove = None  # the service: remove(record, by)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def delete_model(self, request, obj):
        type(self).remove(obj, request.user)

    @transaction.atomic  # all of the selection, or none of it
    def delete_queryset(self, request, queryset):
        for record in queryset.order_by("pk"):
            type(self).remove(record, request.user)


@admin.register(Fund)
class FundAdmin(NumbersAdminMixin, ServiceErrorsAsMessagesMixin, ComplianceBannerMixin, admin.ModelAdmin):
    list_display = [
        "name_zh",
        "name_en",
        "size",
        "tolerance_threshold",
        "warning_level",
        "governing_basis",
        "latest_verdict",
    ]
    list_filter = ["governing_basis"]
    search_fields = ["name_zh", "name_en", "manager", "entrusted_institution"]
    actions = ["run_compliance_check"]

    def get_queryset(self, request):
        return selectors.fund_list()

    def save_model(self, request, obj, form, change):
        if change:
            fund = portfolio.fund_update(fund=obj, by=request.user, changes=_form_values(form, form.changed_data))
        else:
            fund = portfolio.fund_create(by=request.user, **_form_values(form, portfolio.FUND_FIELDS))
        adopt_saved(obj, fund)

    def delete_model(self, request, obj):
        portfolio.fund_delete(fund=obj, by=request.user)

    @transaction.atomic  # all of the selection, or none of it
    def delete_queryset(self, request, queryset):
        for fund in queryset.order_by("pk"):
            portfolio.fund_delete(fund=fund, by=request.user)

    @admin.display(description=_("latest verdict"), ordering="latest_verdict")
    def latest_verdict(self, fund):
        return Verdict(fund.latest_verdict).label if fund.latest_verdict else "—"

    def has_run_check_permission(self, request):
        return selectors.user_can_run_checks(request.user)

    @admin.action(description=_("Run the compliance check now (as of today)"), permissions=["run_check"])
    def run_compliance_check(self, request, queryset):
        today = timezone.localdate()
        reports = compliance_check_run_many(funds=queryset.only("pk"), as_of=today, by=request.user)
        breaches = sum(report.verdict == Verdict.BREACH for report in reports)
        warnings = sum(report.verdict == Verdict.WARNING for report in reports)
        self.message_user(
            request,
            ngettext(
                "Checked %(count)d fund as of %(as_of)s: %(breaches)d breach, %(warnings)d warning.",
                "Checked %(count)d funds as of %(as_of)s: %(breaches)d breaches, %(warnings)d warnings.",
                len(reports),
            )
            % {"count": len(reports), "as_of": today.isoformat(), "breaches": breaches, "warnings": warnings},
            level=messages.ERROR if breaches else messages.WARNING if warnings else messages.SUCCESS,
        )


class InvestmentPartyInline(admin.TabularInline):
    model = InvestmentParty
    extra = 0


def save_parties(request, investment, formset) -> None:
    """The party rows of an investment's form, written by the party services (the formset validated them)."""
    formset.save(commit=False)  # fills new_objects, changed_objects and deleted_objects; writes nothing
    for party in formset.deleted_objects:
        portfolio.party_remove(party=party, by=request.user)
    for party, changed in formset.changed_objects:
        changes = {name: getattr(party, name) for name in changed if name in portfolio.PARTY_FIELDS}
        adopt_saved(party, portfolio.party_update(party=party, by=request.user, changes=changes))
    for party in formset.new_objects:
        values = {name: getattr(party, name) for name in portfolio.PARTY_FIELDS}
        adopt_saved(party, portfolio.party_add(investment=investment, by=request.user, **values))


DOCUMENT_FACTS = ["original_name", "content_type", "size", "uploaded_by", "uploaded_at"]


class InvestmentDocumentInline(admin.TabularInline):
    """New documents are added here (checked by the form, stored by tolerance.documents); one on record is
    never edited, only removed (by portfolio managers) and uploaded again. Its file links to the download view."""

    model = InvestmentDocument
    form = InvestmentDocumentForm
    extra = 0
    fields = ["kind", "title", "file", *DOCUMENT_FACTS]
    readonly_fields = DOCUMENT_FACTS

    def has_change_permission(self, request, obj=None):
        return False


def save_documents(request, investment, formset) -> None:
    """The document rows of an investment's form: new uploads and removals, through the document services.
    Fills the formset's new/changed/deleted objects, from which the admin writes its change message."""
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    for form in formset.deleted_forms:
        if form.instance.pk is not None:
            documents.investment_document_delete(document=form.instance, by=request.user)
            formset.deleted_objects.append(form.instance)
    for form in formset.extra_forms:
        if not form.has_changed() or form in formset.deleted_forms:
            continue
        data = form.cleaned_data
        adopt_saved(
            form.instance,
            documents.investment_document_upload(
                investment=investment, by=request.user, kind=data["kind"], title=data["title"], upload=data["file"]
            ),
        )
        formset.new_objects.append(form.instance)


class MeetsStandardsFilter(admin.SimpleListFilter):
    """Yes/no on the generated column. Listed by name, Django would offer its values from SELECT DISTINCT
    over every investment (a GeneratedField is not recognised as a boolean)."""

    title = _("meets the standards")
    parameter_name = "meets_standards"

    def lookups(self, request, model_admin):
        return [("1", _("yes")), ("0", _("no"))]

    def queryset(self, request, queryset):
        if self.value() in ("0", "1"):
            return queryset.filter(meets_standards=self.value() == "1")
        return queryset


class InvestmentAdminForm(forms.ModelForm):
    """The investment's fields, and the reason a change of state needs when it undoes an exit or a failure."""

    state_change_reason = forms.CharField(
        label=_("reason for the change of state"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed when an exit or a failure recorded in error is undone."),
    )

    class Meta:
        model = Investment
        fields = sorted(portfolio.INVESTMENT_FIELDS | {"state"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Most rounds have no co-investor: an empty field means none (0.00), as the model's default.
        if "co_investment" in self.fields:  # not for readers: their form shows every field read-only
            self.fields["co_investment"].required = False

    def clean_co_investment(self):
        value = self.cleaned_data.get("co_investment")
        if value is None:
            return (
                self.instance.co_investment
                if not self.instance._state.adding
                else Investment._meta.get_field("co_investment").default
            )
        return value

    def moves(self) -> list:
        """The workflow's transitions from the stored state to the one chosen (none for a new investment
        that stays active, or an unchanged state)."""
        start = WORKFLOW.initial if self.instance._state.adding else self.initial.get("state")
        target = self.cleaned_data.get("state")
        if not target or target == start:
            return []
        return WORKFLOW.path_to(target, start=start)

    def clean(self):
        cleaned = super().clean()
        try:
            moves = self.moves()
        except ValueError:
            moves = None
        if moves is None:
            self.add_error(
                "state",
                gettext("An investment cannot go from “%(from)s” to “%(to)s”.")
                % {"from": WORKFLOW.label_of(self.initial.get("state")), "to": WORKFLOW.label_of(cleaned["state"])},
            )
        elif any(move.needs_comment for move in moves) and not cleaned.get("state_change_reason", "").strip():
            self.add_error("state_change_reason", gettext("Say why the exit or failure is undone."))
        return cleaned


@admin.register(Investment)
class InvestmentAdmin(
    NumbersAdminMixin, ServiceErrorsAsMessagesMixin, ValidInitialMixin, LargeTableAdminMixin, admin.ModelAdmin
):
    form = InvestmentAdminForm
    list_display = [
        "startup",
        "fund",
        "invested_on",
        "principal",
        "stake",
        "state",
        "failure_kind",
        "failed_on",
        "standards_met",
    ]
    list_filter = [
        "state",
        MeetsStandardsFilter,
        "failure_kind",
        "fund",
        year_filter("invested_on", _("investment year")),  # not date_hierarchy: no DISTINCT over every row
    ]
    list_select_related = ["startup", "fund"]
    sortable_by = ["invested_on", "fund"]  # indexed (see Investment.Meta.indexes)
    search_fields = ["startup__name_zh", "startup__name_en", "fund__name_zh", "fund__name_en"]
    autocomplete_fields = ["fund", "startup"]
    readonly_fields = ["standards_met"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "fund",
                    "startup",
                    "invested_on",
                    "principal",
                    "co_investment",
                    "stake",
                    "state",
                    "recovered",
                    "failure_kind",
                    "failed_on",
                    "state_change_reason",
                    "note",
                ]
            },
        ),
        (_("Standards checklist"), {"fields": ["standards_met"]}),
        *((label, {"fields": [code, f"{code}_evidence", f"{code}_confirmed_by"]}) for code, label in STANDARDS),
    ]
    inlines = [InvestmentPartyInline, InvestmentDocumentInline]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            # The reason is asked of whoever undoes an exit or failure; it is no field of the investment,
            # and someone who may only view would read its English name and "None".
            fieldsets = [
                (title, {**options, "fields": [name for name in options["fields"] if name != "state_change_reason"]})
                for title, options in fieldsets
            ]
        return fieldsets

    # A generated column is not a BooleanField to the admin, which would print True/False in English.
    @admin.display(boolean=True, description=_("meets the standards"))
    def standards_met(self, obj) -> bool:
        return obj.meets_standards

    # What the state's transitions write; every other field of the form goes through investment_update.
    MOVED_BY_TRANSITIONS = ("state", "recovered", "failure_kind", "failed_on")

    def save_model(self, request, obj, form, change):
        by, moves = request.user, form.moves()
        facts = _form_values(form, ("recovered", "failure_kind", "failed_on"))
        take = {
            "reopen": lambda investment: portfolio.investment_reopen(
                investment=investment, by=by, reason=form.cleaned_data.get("state_change_reason", "")
            ),
            "record_exit": lambda investment: portfolio.investment_record_exit(
                investment=investment, by=by, proceeds=facts["recovered"]
            ),
            "record_failure": lambda investment: portfolio.investment_record_failure(
                investment=investment,
                by=by,
                kind=facts["failure_kind"],
                failed_on=facts["failed_on"],
                recovered=facts["recovered"],
            ),
        }
        # Back to active first (it clears the failure facts), then the other fields, then the move onwards.
        first = [move for move in moves if move.target == WORKFLOW.initial]
        then = [move for move in moves if move.target != WORKFLOW.initial]
        editable = portfolio.INVESTMENT_FIELDS - (set(self.MOVED_BY_TRANSITIONS) if moves else set())
        if change:
            investment = obj
            for move in first:
                investment = take[move.name](investment)
            changes = _form_values(form, [name for name in form.changed_data if name in editable])
            if changes:
                investment = portfolio.investment_update(investment=investment, by=by, changes=changes)
        else:
            values = _form_values(
                form, ("fund", "startup", "invested_on", "principal", "co_investment", "stake", "note")
            )
            checklist = _form_values(form, portfolio.CHECKLIST_FIELDS)
            investment = portfolio.investment_create(by=by, checklist=checklist, **values)
        for move in then:
            investment = take[move.name](investment)
        adopt_saved(obj, investment)

    def save_formset(self, request, form, formset, change):
        if formset.model is InvestmentParty:
            save_parties(request, form.instance, formset)
        elif formset.model is InvestmentDocument:
            save_documents(request, form.instance, formset)
        else:
            super().save_formset(request, form, formset, change)

    def delete_model(self, request, obj):
        portfolio.investment_delete(investment=obj, by=request.user)

    @transaction.atomic  # all of the selection, or none of it
    def delete_queryset(self, request, queryset):
        for investment in queryset.order_by("pk"):
            portfolio.investment_delete(investment=investment, by=request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Confirmers are staff; a plain list, since the roles do not let staff browse user accounts.
        if db_field.name.endswith("_confirmed_by"):
            from valley.models import User

            kwargs["queryset"] = User.objects.filter(is_staff=True, is_active=True).order_by("email")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(InvestmentParty)
class InvestmentPartyAdmin(ServiceErrorsAsMessagesMixin, ValidInitialMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ["investment", "role", "organisation", "person", "position"]
    list_filter = ["role", "investment__fund"]
    list_select_related = ["investment__fund", "investment__startup"]
    search_fields = ["organisation", "person", "investment__startup__name_zh", "investment__startup__name_en"]
    autocomplete_fields = ["investment"]

    def save_model(self, request, obj, form, change):
        if change:
            changes = _form_values(form, [name for name in form.changed_data if name in portfolio.PARTY_FIELDS])
            if "investment" in form.changed_data:
                # A party belongs to its investment: naming it elsewhere is a new party there.
                raise portfolio.InvalidRecord(
                    {"investment": [gettext("Remove the party and name it for the other investment instead.")]}
                )
            party = portfolio.party_update(party=obj, by=request.user, changes=changes)
        else:
            values = _form_values(form, portfolio.PARTY_FIELDS)
            party = portfolio.party_add(investment=form.cleaned_data["investment"], by=request.user, **values)
        adopt_saved(obj, party)

    def delete_model(self, request, obj):
        portfolio.party_remove(party=obj, by=request.user)

    @transaction.atomic  # all of the selection, or none of it
    def delete_queryset(self, request, queryset):
        for party in queryset.order_by("pk"):
            portfolio.party_remove(party=party, by=request.user)


@admin.register(InvestmentDocument)
class InvestmentDocumentAdmin(ServiceErrorsAsMessagesMixin, ValidInitialMixin, admin.ModelAdmin):
    """Uploads are checked by the form and stored by tolerance.documents; a document is never edited, only
    removed (portfolio managers) and uploaded again. Its file links to the permission-checking download view."""

    form = InvestmentDocumentForm
    readonly_fields = DOCUMENT_FACTS
    list_display = ["title", "kind", "investment", "original_name", "content_type", "size", "uploaded_at"]
    list_filter = ["kind", "investment__fund"]
    list_select_related = ["investment__fund", "investment__startup"]
    search_fields = ["title", "original_name", "investment__startup__name_zh", "investment__startup__name_en"]
    autocomplete_fields = ["investment"]

    def get_fields(self, request, obj=None):
        return ["investment", "kind", "title", "file", *([] if obj is None else DOCUMENT_FACTS)]

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        document = documents.investment_document_upload(
            investment=data["investment"], by=request.user, kind=data["kind"], title=data["title"], upload=data["file"]
        )
        adopt_saved(obj, document)

    def delete_model(self, request, obj):
        documents.investment_document_delete(document=obj, by=request.user)

    @transaction.atomic  # all of the selection, or none of it
    def delete_queryset(self, request, queryset):
        for document in queryset.order_by("pk"):
            documents.investment_document_delete(document=document, by=request.user)


@admin.register(ComplianceReport)
class ComplianceReportAdmin(NumbersAdminMixin, ComplianceBannerMixin, NoManualWritesMixin, admin.ModelAdmin):
    remove = staticmethod(lambda report, by: report_delete(report=report, by=by))
    list_display = [
        "fund",
        "as_of",
        "verdict",
        "shown_rate_by_count",
        "shown_rate_by_amount",
        "governing_basis",
        "qualifying_count",
        "failed_count",
        "unqualified_failed_count",
        "computed_at",
    ]
    list_filter = ["verdict", "governing_basis", "fund"]
    list_select_related = ["fund"]
    search_fields = ["fund__name_zh", "fund__name_en"]
    date_hierarchy = "as_of"

    # Rounded half-up, with the note where a verdict is close, and "—" for no data (as on the fund pages).
    @admin.display(description=_("failure rate by count"), ordering="rate_by_count")
    def shown_rate_by_count(self, report):
        return report.shown_rate_by_count

    @admin.display(description=_("failure rate by amount"), ordering="rate_by_amount")
    def shown_rate_by_amount(self, report):
        return report.shown_rate_by_amount


class ReadOnlyMixin:
    """History decided by people: nobody adds, changes or removes it here (the case page takes the steps)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DecidedFilter(admin.SimpleListFilter):
    title = _("counts")
    parameter_name = "standing"

    def lookups(self, request, model_admin):
        return [("1", _("counts (decided, not superseded)")), ("0", _("does not count"))]

    def queryset(self, request, queryset):
        standing = standing_determinations().values("pk")
        if self.value() == "1":
            return queryset.filter(pk__in=standing)
        if self.value() == "0":
            return queryset.exclude(pk__in=standing)
        return queryset


@admin.register(ExemptionDetermination)
class ExemptionDeterminationAdmin(LargeTableAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    """Every determination ever made, superseded and automatic ones included (they are its history)."""

    list_display = [
        "party",
        "investment",
        "case",
        "exempt",
        "meeting_date",
        "document_number",
        "determined_at",
        "automatic",
        "supersedes",
    ]
    list_filter = [DecidedFilter, "exempt", "automatic", "investment__fund", "party__role"]
    list_select_related = ["party", "investment__startup", "investment__fund", "case", "supersedes__party"]
    search_fields = [
        "document_number",
        "party__organisation",
        "party__person",
        "investment__startup__name_zh",
        "investment__startup__name_en",
    ]


class _ReadOnlyInline(NumbersAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CaseEventInline(_ReadOnlyInline):
    model = CaseEvent
    fields = ["at", "action_shown", "from_state", "to_state", "by", "comment"]
    readonly_fields = fields
    action_shown = action_column(CASE_WORKFLOW)


class CaseEvidenceInline(_ReadOnlyInline):
    model = CaseEvidence
    fields = ["standard", "note", "confirmed_by", "confirmed_at"]
    readonly_fields = fields


class CaseStatementInline(_ReadOnlyInline):
    model = CaseStatement
    fields = ["party", "text", "made_on", "recorded_by"]
    readonly_fields = fields


class CaseDeterminationInline(_ReadOnlyInline):
    model = ExemptionDetermination
    fields = ["party", "exempt", "reason", "meeting_date", "document_number", "automatic", "supersedes"]
    readonly_fields = fields


@admin.register(ExemptionCase)
class ExemptionCaseAdmin(LargeTableAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    """Cases and their history, read-only: the steps are taken on the case page (tolerance/cases.py)."""

    list_display = ["pk", "investment", "kind", "state", "opened_by_check", "governing_rate", "opened_at"]
    list_filter = ["state", "kind", "opened_by_check", "investment__fund"]
    list_select_related = ["investment__startup", "investment__fund"]
    search_fields = ["investment__startup__name_zh", "investment__startup__name_en"]
    inlines = [CaseEvidenceInline, CaseStatementInline, CaseDeterminationInline, CaseEventInline]


class CompanyReportEventInline(admin.TabularInline):
    model = CompanyReportEvent
    extra = 0
    can_delete = False
    fields = ["at", "action_shown", "from_state", "to_state", "by", "comment"]
    readonly_fields = fields
    action_shown = action_column(COMPANY_REPORT_WORKFLOW)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CompanyReportOverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        from tolerance.monitoring import TO_FILE_STATES

        overdue = Q(state__in=TO_FILE_STATES, due_on__lt=timezone.localdate())
        if self.value() == "yes":
            return queryset.filter(overdue)
        if self.value() == "no":
            return queryset.exclude(overdue)
        return queryset


@admin.register(CompanyReport)
class CompanyReportAdmin(NumbersAdminMixin, admin.ModelAdmin):
    """Quarterly company reports, read-only here: the startup files its figures on its own pages and portfolio
    managers decide on the report's page (tolerance.monitoring), so no edit escapes the history and the audit."""

    list_display = ["entity", "year", "quarter", "state", "due_on", "submitted_at", "revenue", "employees"]
    list_filter = ["state", "year", "quarter", CompanyReportOverdueFilter]
    list_select_related = ["entity"]
    search_fields = ["entity__name_zh", "entity__name_en", "=entity__id"]
    inlines = [CompanyReportEventInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


from tolerance import valuation_admin  # noqa: E402, F401  (registers the valuation marks)
