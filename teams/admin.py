"""Staff admin for teams, startups, residencies, achievements, registrations and documents.

Every list is scoped by `teams.selectors` (operators see only entities resident in their
sub-venues), state changes go through `teams.services` so they leave the same history rows as
the web forms, and domain errors come back as admin messages instead of 500s.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from teams import selectors, services
from teams.models import Achievement, AchievementStageChange, Document, Entity, Member, Registration, Residency
from valley.core import scoping
from valley.core.errors import DomainError
from valley.models import SubVenue
from valley.web.admin_format import NumbersAdminMixin
from valley.web.admin_initial import ValidInitialMixin
from valley.web.admin_services import ServiceErrorsAsMessagesMixin


class ScopedAdminMixin(ValidInitialMixin, ServiceErrorsAsMessagesMixin):
    """Limit the queryset to what the person may see (teams.selectors, which scopes staff with
    valley.core.scoping); `entity_path` leads from the row to its entity."""

    entity_path = "entity"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if scoping.sees_every_sub_venue(request.user):
            return queryset
        visible = selectors.entities_for_user(request.user).values("pk")
        if not self.entity_path:
            return queryset.filter(pk__in=visible)
        return queryset.filter(**{f"{self.entity_path}__in": visible})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "entity":
            kwargs["queryset"] = selectors.entities_for_user(request.user)
        if db_field.name == "sub_venue":
            kwargs["queryset"] = scoping.in_scope(SubVenue.objects.all(), request.user, via="pk")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# --- list filters ---------------------------------------------------------------------------------


class SubVenueFilter(admin.SimpleListFilter):
    title = _("sub-venue (active residency)")
    parameter_name = "sub_venue"

    def lookups(self, request, model_admin):
        venues = scoping.in_scope(SubVenue.objects.all(), request.user, via="pk")
        return [(str(venue.pk), venue.name) for venue in venues]

    def queryset(self, request, queryset):
        if self.value() and not (self.value().isascii() and self.value().isdigit()):
            return queryset.none()  # not a sub-venue's id (a hand-edited URL): no entity is resident there
        if self.value():
            active = Residency.objects.filter(
                entity=OuterRef("pk"), sub_venue=self.value(), status__in=Residency.ACTIVE_STATUSES
            )
            return queryset.filter(Exists(active))
        return queryset


class ResidencyStatusFilter(admin.SimpleListFilter):
    title = _("residency status")
    parameter_name = "residency"

    def lookups(self, request, model_admin):
        return [*Residency.Status.choices, ("none", _("no active residency"))]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(selectors.residency_filter_q(self.value()))
        return queryset


class AchievementStageFilter(admin.SimpleListFilter):
    title = _("has an achievement at stage")
    parameter_name = "achievement_stage"

    def lookups(self, request, model_admin):
        return Achievement.Stage.choices

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(Exists(Achievement.objects.filter(entity=OuterRef("pk"), stage=self.value())))
        return queryset


# --- entities -------------------------------------------------------------------------------------


class MemberInline(admin.TabularInline):
    model = Member
    extra = 0


class ResidencyInline(admin.TabularInline):
    """Read-only here: residency decisions are recorded on the residency admin, through the services."""

    model = Residency
    extra = 0
    fields = ["sub_venue", "status", "selected_on", "entered_on", "ended_on", "decided_by"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


def _is_residency_autocomplete(request) -> bool:
    match = getattr(request, "resolver_match", None)
    return bool(
        match
        and match.url_name == "autocomplete"
        and request.GET.get("app_label") == "teams"
        and request.GET.get("model_name") == "residency"
        and request.GET.get("field_name") == "entity"
    )


def _run(modeladmin, request, rows, call, done_message):
    """Apply `call` to each row, collecting domain errors as messages rather than failing the batch."""
    done = 0
    for row in rows:
        try:
            call(row)
        except DomainError as error:
            modeladmin.message_user(request, f"{row}: {error.message}", messages.WARNING)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, done_message % {"count": done}, messages.SUCCESS)


@admin.register(Entity)
class EntityAdmin(NumbersAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    entity_path = ""
    list_display = ["name_zh", "name_en", "kind", "institution", "focus_area", "residency", "achievements"]
    list_filter = [
        "kind",
        SubVenueFilter,
        "institution",
        "focus_area",
        ResidencyStatusFilter,
        AchievementStageFilter,
    ]
    list_select_related = ["institution", "focus_area"]
    search_fields = ["name_zh", "name_en", "members__name", "registration__uscc", "registration__company_name"]
    autocomplete_fields = ["institution", "focus_area"]
    inlines = [MemberInline, ResidencyInline]
    actions = ["mark_as_resident"]
    list_per_page = 50

    def get_autocomplete_fields(self, request):
        # Accounts are read only by superusers (valley.core.roles), so only they can search them.
        return [*self.autocomplete_fields, "owner"] if request.user.is_superuser else self.autocomplete_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if request.user.is_superuser else ["owner"]

    def get_queryset(self, request):
        if _is_residency_autocomplete(request):
            # Choosing an entity to select into a sub-venue: the candidates, not the residents.
            return selectors.entities_selectable_by(request.user).order_by("name_zh", "pk")
        latest = Residency.objects.filter(entity=OuterRef("pk")).order_by("-selected_on", "-pk")
        return (
            super()
            .get_queryset(request)
            .annotate(
                achievement_total=Count("achievements", distinct=True),
                residency_status=Subquery(latest.values("status")[:1]),
                residency_sub_venue_zh=Subquery(latest.values("sub_venue__name_zh")[:1]),
                residency_sub_venue_en=Subquery(latest.values("sub_venue__name_en")[:1]),
            )
            .order_by("name_zh", "pk")
        )

    @admin.display(description=_("residency"))
    def residency(self, obj):
        if not obj.residency_status:
            return "—"
        venue = SubVenue(name_zh=obj.residency_sub_venue_zh, name_en=obj.residency_sub_venue_en)
        return f"{venue.name} · {Residency.Status(obj.residency_status).label}"

    @admin.display(description=_("achievements"), ordering="achievement_total")
    def achievements(self, obj):
        return obj.achievement_total

    @admin.action(
        description=_("Mark as resident (selected entities enter their sub-venue today)"), permissions=["change"]
    )
    def mark_as_resident(self, request, queryset):
        selected = Residency.objects.filter(entity__in=queryset, status=Residency.Status.SELECTED).select_related(
            "sub_venue", "entity"
        )
        without = queryset.exclude(residencies__status=Residency.Status.SELECTED).count()
        _run(
            self,
            request,
            selected,
            lambda residency: services.residency_enter(residency=residency, by=request.user),
            gettext("%(count)d entities are now resident."),
        )
        if without:
            self.message_user(
                request,
                gettext(
                    "%(count)d entities were not changed: only entities selected into a sub-venue can become "
                    "resident. Record the selection on the residencies page first."
                )
                % {"count": without},
                messages.WARNING,
            )


# --- residencies ----------------------------------------------------------------------------------


class ResidencyForm(forms.ModelForm):
    """Repeats the one-active-residency rule so staff get a message instead of an error page."""

    class Meta:
        model = Residency
        fields = ["entity", "sub_venue", "selected_on", "note"]

    def clean(self):
        data = super().clean()
        entity = data.get("entity")
        if self.instance.pk is None and entity is not None and selectors.entity_has_active_residency(entity):
            raise ValidationError(
                _("This entity already has an active residency; end it before selecting it again."),
                code="active_residency",
            )
        return data


@admin.register(Residency)
class ResidencyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    form = ResidencyForm
    list_display = ["entity", "sub_venue", "status", "selected_on", "entered_on", "ended_on", "decided_by"]
    list_filter = ["status", "sub_venue"]
    list_select_related = ["entity", "sub_venue", "decided_by"]
    search_fields = ["entity__name_zh", "entity__name_en"]
    autocomplete_fields = ["entity"]
    date_hierarchy = "selected_on"
    actions = ["mark_entered", "mark_graduated", "mark_exited"]

    def get_queryset(self, request):
        # Operators see the residencies in their sub-venues, including ended ones.
        return scoping.in_scope(admin.ModelAdmin.get_queryset(self, request), request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "entity":
            field.queryset = selectors.entities_selectable_by(request.user) | selectors.entities_for_user(request.user)
        return field

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["entity", "sub_venue", "selected_on", "note"]
        return ["entity", "sub_venue", "status", "selected_on", "entered_on", "ended_on", "decided_by", "note"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # Status and dates change only through the actions, so every change goes through a service.
        return ["entity", "sub_venue", "status", "selected_on", "entered_on", "ended_on", "decided_by"]

    def save_model(self, request, obj, form, change):
        if change:
            services.residency_update_note(residency=obj, by=request.user, note=obj.note)
            return
        # The form catches the common case (an active residency exists); a lost race raises WrongState.
        created = services.residency_select(
            entity=obj.entity, sub_venue=obj.sub_venue, by=request.user, on=obj.selected_on, note=obj.note
        )
        obj.pk = created.pk

    def delete_model(self, request, obj):
        services.residency_delete(residency=obj, by=request.user)

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        for residency in queryset:
            services.residency_delete(residency=residency, by=request.user)

    @admin.action(description=_("Mark as resident (entered today)"), permissions=["change"])
    def mark_entered(self, request, queryset):
        _run(
            self,
            request,
            queryset.select_related("sub_venue", "entity"),
            lambda residency: services.residency_enter(residency=residency, by=request.user),
            gettext("%(count)d residencies marked as entered."),
        )

    @admin.action(description=_("Mark as graduated (today)"), permissions=["change"])
    def mark_graduated(self, request, queryset):
        _run(
            self,
            request,
            queryset.select_related("sub_venue", "entity"),
            lambda residency: services.residency_end(
                residency=residency, by=request.user, status=Residency.Status.GRADUATED
            ),
            gettext("%(count)d residencies marked as graduated."),
        )

    @admin.action(description=_("Mark as exited (today)"), permissions=["change"])
    def mark_exited(self, request, queryset):
        _run(
            self,
            request,
            queryset.select_related("sub_venue", "entity"),
            lambda residency: services.residency_end(
                residency=residency, by=request.user, status=Residency.Status.EXITED
            ),
            gettext("%(count)d residencies marked as exited."),
        )


# --- achievements ---------------------------------------------------------------------------------


class StageChangeInline(admin.TabularInline):
    model = AchievementStageChange
    extra = 0
    fields = ["changed_on", "from_stage", "to_stage", "changed_by", "note", "changed_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Achievement)
class AchievementAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["title", "entity", "kind", "stage"]
    list_filter = ["stage", "kind", "entity__focus_area", "entity__institution"]
    list_select_related = ["entity"]
    search_fields = ["title", "entity__name_zh", "entity__name_en"]
    autocomplete_fields = ["entity"]
    inlines = [StageChangeInline]
    actions = ["advance_stage"]

    def save_model(self, request, obj, form, change):
        """Stage changes go through the service so the history row is written."""
        if not change:
            created = services.achievement_create(
                entity=obj.entity,
                by=request.user,
                title=obj.title,
                kind=obj.kind,
                description=obj.description,
                stage=obj.stage,
            )
            obj.pk = created.pk
            return
        new_stage = obj.stage
        obj.stage = form.initial.get("stage", obj.stage)
        obj.save(update_fields=["title", "kind", "description", "entity"])
        if new_stage != obj.stage:
            services.achievement_change_stage(
                achievement=obj, to_stage=new_stage, on=timezone.localdate(), by=request.user
            )

    @admin.action(description=_("Move to the next stage (today)"), permissions=["change"])
    def advance_stage(self, request, queryset):
        order = services.STAGE_ORDER

        def advance(achievement):
            position = order.index(achievement.stage)
            if position + 1 >= len(order):
                raise services.WrongState(gettext("It is already transformed."))
            services.achievement_change_stage(
                achievement=achievement, to_stage=order[position + 1], on=timezone.localdate(), by=request.user
            )

        _run(
            self,
            request,
            queryset.select_related("entity"),
            advance,
            gettext("%(count)d achievements moved to their next stage."),
        )


# --- registrations and documents ------------------------------------------------------------------


@admin.register(Registration)
class RegistrationAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["company_name", "uscc", "entity", "registered_on", "registered_capital", "paid_in_capital"]
    list_select_related = ["entity"]
    list_filter = ["entity__focus_area", "entity__institution"]
    search_fields = ["company_name", "uscc", "entity__name_zh", "entity__name_en", "legal_representative"]
    autocomplete_fields = ["entity"]
    readonly_fields = ["verified_by", "verified_at"]

    def has_add_permission(self, request):
        return services.may_record_registration(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return services.may_record_registration(request.user) and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        saved = services.registration_record(
            entity=obj.entity,
            by=request.user,
            company_name=obj.company_name,
            uscc=obj.uscc,
            registered_on=obj.registered_on,
            registered_capital=obj.registered_capital,
            paid_in_capital=obj.paid_in_capital,
            legal_representative=obj.legal_representative,
        )
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.registration_delete(registration=obj, by=request.user)

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        for registration in queryset:
            services.registration_delete(registration=registration, by=request.user)


@admin.register(Document)
class DocumentAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["title", "entity", "original_name", "content_type", "size", "uploaded_by", "uploaded_at"]
    list_select_related = ["entity", "uploaded_by"]
    search_fields = ["title", "original_name", "entity__name_zh", "entity__name_en"]
    list_filter = ["content_type"]
    fields = ["entity", "title", "original_name", "content_type", "size", "uploaded_by", "uploaded_at"]
    readonly_fields = ["entity", "original_name", "content_type", "size", "uploaded_by", "uploaded_at"]

    def has_add_permission(self, request):
        # Uploads go through the checked form on the entity's page (type from content, size limit).
        return False


# Residency requests and service requests have their own modules (each ModelAdmin registers itself there).
from teams import residency_request_admin, service_admin  # noqa: E402, F401
