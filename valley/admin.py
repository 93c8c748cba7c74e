from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from valley.accounts import services as accounts
from valley.core import calendar, roles
from valley.models import (
    CalendarDay,
    FocusArea,
    Guide,
    Institution,
    OutboxMessage,
    PrivacyNotice,
    PrivacyPurpose,
    ServiceLine,
    SubVenue,
    Target,
    User,
    Valley,
    name_fields_in_reading_order,
)


def _names_in_order(fields, names):
    """`fields` with its two name fields, where both are present, in the order `names` gives."""
    if not set(names) <= set(fields):
        return fields
    queue = iter(names)
    return tuple(next(queue) if field in names else field for field in fields)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "last_login"]
    list_filter = ["is_staff", "is_active", "groups"]
    search_fields = ["email", "first_name", "last_name"]
    filter_horizontal = ["groups", "user_permissions", "sub_venues", "service_lines"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email_confirmed_at")}),
        (_("Roles"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "sub_venues", "service_lines")}),
        (_("Individual permissions"), {"classes": ["collapse"], "fields": ("user_permissions",)}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    actions = ["unlock_login"]

    @admin.display(description=_("full name"), ordering="last_name")
    def full_name(self, obj):
        return obj.get_full_name()

    # Django's own labels are 名字 / 姓氏 and the fields come given name first; staff read the portal's 名 / 姓,
    # in the order the reader writes a name (姓 before 名 in Chinese), as on the sign-up form.
    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        names = name_fields_in_reading_order()
        return [
            (title, {**options, "fields": _names_in_order(options["fields"], names)}) for title, options in fieldsets
        ]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        labels = {"first_name": capfirst(_("given name")), "last_name": capfirst(_("family name"))}
        for field, label in labels.items():
            if field in form.base_fields:
                form.base_fields[field].label = label
        return form

    # Every change of a person's profile, roles, permissions or sub-venues is recorded (one entry per save,
    # the many-to-many fields included): the state before is read from the database before the save.
    def save_model(self, request, obj, form, change):
        form.audit_before = accounts.user_state(User.objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        before = getattr(form, "audit_before", None)
        if before is None:
            accounts.user_created(user=form.instance, by=request.user)
        else:
            accounts.user_changed(user=form.instance, before=before, by=request.user)

    @admin.action(description=_("Unlock login (clear the failed attempts)"), permissions=["change"])
    def unlock_login(self, request, queryset):
        cleared = sum(accounts.login_unlock(user=user, by=request.user) for user in queryset)
        count = queryset.count()
        self.message_user(
            request,
            ngettext(
                "%(count)d account unlocked (%(cleared)d lockout record cleared).",
                "%(count)d accounts unlocked (%(cleared)d lockout records cleared).",
                count,
            )
            % {"count": count, "cleared": cleared},
        )


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin):
    """Django's group admin, recording every change of a role's name or permissions."""

    def save_model(self, request, obj, form, change):
        form.audit_before = accounts.group_state(Group.objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        accounts.group_changed(group=form.instance, before=getattr(form, "audit_before", None), by=request.user)


@admin.register(Valley)
class ValleyAdmin(admin.ModelAdmin):
    list_display = ["name_zh", "name_en", "opened_on"]


@admin.register(SubVenue)
class SubVenueAdmin(admin.ModelAdmin):
    list_display = ["name_zh", "name_en", "city_zh", "host_institution", "opened_on", "status"]
    list_filter = ["status"]
    search_fields = ["name_zh", "name_en", "city_zh", "city_en", "code"]
    prepopulated_fields = {"code": ["name_en"]}


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ["name_zh", "name_en", "short_name", "kind", "city_zh"]
    list_filter = ["kind"]
    search_fields = ["name_zh", "name_en", "short_name"]


@admin.register(FocusArea)
class FocusAreaAdmin(admin.ModelAdmin):
    list_display = ["name_zh", "name_en", "code"]
    search_fields = ["name_zh", "name_en", "code"]


@admin.register(ServiceLine)
class ServiceLineAdmin(admin.ModelAdmin):
    list_display = ["name_zh", "name_en", "code", "time_limit_working_days", "lead"]
    list_editable = ["time_limit_working_days"]
    search_fields = ["name_zh", "name_en", "code"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "lead":  # a lead is one of the service-line staff
            kwargs["queryset"] = User.objects.filter(groups__name=roles.SERVICE_LINE_STAFF, is_active=True).distinct()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Guide)
class GuideAdmin(admin.ModelAdmin):
    """Staff keep each service's guide in both languages; the public page is /guides/<service>/."""

    list_display = ["name_zh", "name_en", "service", "service_line", "time_limit_working_days", "updated_at"]
    list_select_related = ["service_line"]
    search_fields = ["name_zh", "name_en", "service"]
    fieldsets = [
        (None, {"fields": ["service", "service_line", "name_zh", "name_en", "sort_order"]}),
        (_("Who may apply"), {"fields": ["who_may_apply_zh", "who_may_apply_en"]}),
        (_("Materials and steps"), {"fields": ["materials_zh", "materials_en", "steps_zh", "steps_en"]}),
        (
            _("Time limit, fee and contact"),
            {
                "fields": [
                    "time_limit_working_days",
                    "time_limit_zh",
                    "time_limit_en",
                    "fee_zh",
                    "fee_en",
                    "contact_zh",
                    "contact_en",
                ]
            },
        ),
    ]

    def save_model(self, request, obj, form, change):
        from valley.guides import guide_save

        guide_save(guide=obj, by=request.user)


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ["name_zh", "name_en", "target_value", "measure", "recorded_value", "sort_order"]
    list_filter = ["measure"]
    search_fields = ["name_zh", "name_en", "code"]


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """The official holidays and make-up working days, one row a day, entered each year from the State
    Council's notice; weekdays and weekends need no row."""

    list_display = ["date", "kind", "name_zh", "name_en"]
    list_filter = ["kind", ("date", admin.DateFieldListFilter)]
    search_fields = ["name_zh", "name_en"]
    date_hierarchy = "date"

    def save_model(self, request, obj, form, change):
        calendar.calendar_day_save(day=obj, by=request.user)

    def delete_model(self, request, obj):
        calendar.calendar_day_delete(day=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for day in queryset:
            calendar.calendar_day_delete(day=day, by=request.user)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Read-only, for superusers: what waits for the broker, and why (mail bodies hold confirmation links)."""

    list_display = ["task", "created_at", "published_at", "done_at", "attempts", "last_error"]
    list_filter = ["task", ("published_at", admin.EmptyFieldListFilter)]
    readonly_fields = [
        "task_id",
        "task",
        "kwargs",
        "request_id",
        "created_at",
        "published_at",
        "done_at",
        "attempts",
        "last_error",
    ]
    date_hierarchy = "created_at"

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PrivacyPurposeInline(admin.TabularInline):
    model = PrivacyPurpose
    extra = 1
    fields = ["order", "purpose_zh", "purpose_en", "data_zh", "data_en", "legal_basis"]

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not _consented(obj)

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and not _consented(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not _consented(obj)


def _consented(notice) -> bool:
    return notice is not None and notice.pk is not None and notice.consents.exists()


@admin.register(PrivacyNotice)
class PrivacyNoticeAdmin(admin.ModelAdmin):
    """Staff write the notice in both languages with its purposes. A version someone accepted is read-only: a
    change is a new version (with a higher number and its date), and people are asked to accept it."""

    list_display = ["version", "effective_on", "created_at"]
    inlines = [PrivacyPurposeInline]

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not _consented(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not _consented(obj)
