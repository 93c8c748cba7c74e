"""The portfolio in the staff admin. Portfolio managers edit funds and investments; auditors only view
(both through the model permissions valley/roles.py gives their groups). Reports and exemption
determinations are written only by the compliance check, so nobody edits them here."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from tolerance import selectors
from tolerance.forms import InvestmentDocumentForm
from tolerance.models import (
    STANDARDS,
    ComplianceReport,
    ExemptionDetermination,
    Fund,
    Investment,
    InvestmentDocument,
    InvestmentParty,
    Verdict,
)
from tolerance.services import compliance_check_run_many
from valley.web.admin_initial import ValidInitialMixin
from valley.web.admin_lists import LargeTableAdminMixin, year_filter


class ComplianceBannerMixin:
    """Shows, above the changelist, every fund whose latest check is a warning or a breach."""

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            for report in selectors.fund_alerts():
                facts = {
                    "fund": report.fund.name,
                    "as_of": report.as_of.isoformat(),
                    "verdict": report.get_verdict_display(),
                    "rate": report.governing_rate,
                    "threshold": report.tolerance_threshold,
                    "unqualified": report.unqualified_failed_count,
                }
                text = gettext(
                    "%(fund)s, checked as of %(as_of)s: %(verdict)s, governing failure rate %(rate)s%% "
                    "against %(threshold)s%%."
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
    """Computed records: added and changed only by the compliance check."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Fund)
class FundAdmin(ComplianceBannerMixin, admin.ModelAdmin):
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


class InvestmentDocumentInline(admin.TabularInline):
    model = InvestmentDocument
    form = InvestmentDocumentForm
    extra = 0
    fields = ["title", "file", "original_name", "uploaded_at"]
    readonly_fields = ["original_name", "uploaded_at"]


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


@admin.register(Investment)
class InvestmentAdmin(ValidInitialMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = [
        "startup",
        "fund",
        "invested_on",
        "principal",
        "stake",
        "state",
        "failure_kind",
        "failed_on",
        "meets_standards",
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
    readonly_fields = ["meets_standards"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "fund",
                    "startup",
                    "invested_on",
                    "principal",
                    "stake",
                    "state",
                    "recovered",
                    "failure_kind",
                    "failed_on",
                    "note",
                ]
            },
        ),
        (_("Standards checklist"), {"fields": ["meets_standards"]}),
        *((label, {"fields": [code, f"{code}_evidence", f"{code}_confirmed_by"]}) for code, label in STANDARDS),
    ]
    inlines = [InvestmentPartyInline, InvestmentDocumentInline]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Confirmers are staff; a plain list, since the roles do not let staff browse user accounts.
        if db_field.name.endswith("_confirmed_by"):
            from valley.models import User

            kwargs["queryset"] = User.objects.filter(is_staff=True, is_active=True).order_by("email")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(InvestmentParty)
class InvestmentPartyAdmin(ValidInitialMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = ["investment", "role", "organisation", "person", "position"]
    list_filter = ["role", "investment__fund"]
    list_select_related = ["investment__fund", "investment__startup"]
    search_fields = ["organisation", "person", "investment__startup__name_zh", "investment__startup__name_en"]
    autocomplete_fields = ["investment"]


@admin.register(InvestmentDocument)
class InvestmentDocumentAdmin(ValidInitialMixin, admin.ModelAdmin):
    form = InvestmentDocumentForm
    fields = ["investment", "title", "file", "original_name", "uploaded_at"]
    readonly_fields = ["original_name", "uploaded_at"]
    list_display = ["title", "investment", "uploaded_at"]
    list_filter = ["investment__fund"]
    list_select_related = ["investment__fund", "investment__startup"]
    search_fields = ["title", "investment__startup__name_zh", "investment__startup__name_en"]
    autocomplete_fields = ["investment"]


@admin.register(ComplianceReport)
class ComplianceReportAdmin(ComplianceBannerMixin, NoManualWritesMixin, admin.ModelAdmin):
    list_display = [
        "fund",
        "as_of",
        "verdict",
        "rate_by_count",
        "rate_by_amount",
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


@admin.register(ExemptionDetermination)
class ExemptionDeterminationAdmin(LargeTableAdminMixin, NoManualWritesMixin, admin.ModelAdmin):
    list_display = ["party", "investment", "report", "exempt", "determined_at"]
    list_filter = ["exempt", "report__fund", "party__role"]
    list_select_related = ["party", "investment__startup", "investment__fund", "report__fund"]
    search_fields = [
        "party__organisation",
        "party__person",
        "investment__startup__name_zh",
        "investment__startup__name_en",
    ]
