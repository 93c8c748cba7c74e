from django.contrib import admin

from teams.models import Achievement, Entity, Member, Registration, Residency


class MemberInline(admin.TabularInline):
    model = Member
    extra = 0


class ResidencyInline(admin.TabularInline):
    model = Residency
    extra = 0
    autocomplete_fields = ["sub_venue"]


@admin.register(Entity)
class EntityAdmin(admin.ModelAdmin):
    list_display = ["name_zh", "name_en", "kind", "institution", "focus_area"]
    list_filter = ["kind", "institution", "focus_area"]
    list_select_related = ["institution", "focus_area"]
    search_fields = ["name_zh", "name_en"]
    autocomplete_fields = ["institution", "focus_area", "owner"]
    inlines = [MemberInline, ResidencyInline]


@admin.register(Achievement)
class AchievementAdmin(admin.ModelAdmin):
    list_display = ["title", "entity", "kind", "stage"]
    list_filter = ["stage", "kind"]
    list_select_related = ["entity"]
    search_fields = ["title", "entity__name_zh", "entity__name_en"]
    autocomplete_fields = ["entity"]


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin):
    list_display = ["company_name", "uscc", "entity", "registered_on", "paid_in_capital"]
    list_select_related = ["entity"]
    search_fields = ["company_name", "uscc", "entity__name_zh", "entity__name_en"]
    autocomplete_fields = ["entity"]
