"""The registry's CSV exports (format: valley.exports.engine), scoped like the pages by teams.selectors."""

from django.utils.translation import gettext_lazy as _

from teams import selectors
from teams.filters import AchievementFilter, EntityFilter, RegistrationFilter, ResidencyFilter
from teams.models import Achievement, Entity, Residency
from valley.exports.engine import Column, Export

ENTITIES = Export(
    name="entities",
    label=_("Teams and startups"),
    queryset=selectors.entities_visible_to,
    filterset_class=EntityFilter,
    columns=[
        Column("id", _("entity"), "id", "number"),
        Column("kind", _("kind"), "kind", choices=dict(Entity.Kind.choices)),
        Column("name_zh", _("name (Chinese)"), "name_zh"),
        Column("name_en", _("name (English)"), "name_en"),
        Column("institution", _("origin institution"), "institution__name_zh"),
        Column("focus_area", _("focus area"), "focus_area__code"),
        Column("contact_email", _("contact e-mail"), "contact_email"),
        Column("created_at", _("created at"), "created_at", "datetime"),
    ],
)

RESIDENCIES = Export(
    name="residencies",
    label=_("Residencies"),
    queryset=selectors.residencies_visible_to,
    filterset_class=ResidencyFilter,
    columns=[
        Column("id", _("residency"), "id", "number"),
        Column("entity_id", _("entity"), "entity_id", "number"),
        Column("entity", _("name (Chinese)"), "entity__name_zh"),
        Column("sub_venue", _("sub-venue"), "sub_venue__code"),
        Column("status", _("status"), "status", choices=dict(Residency.Status.choices)),
        Column("selected_on", _("selected on"), "selected_on", "date"),
        Column("entered_on", _("entered on"), "entered_on", "date"),
        Column("ended_on", _("graduated or exited on"), "ended_on", "date"),
        Column("decided_by", _("decided by"), "decided_by__email"),
    ],
)

ACHIEVEMENTS = Export(
    name="achievements",
    label=_("Achievements"),
    queryset=selectors.achievements_visible_to,
    filterset_class=AchievementFilter,
    columns=[
        Column("id", _("achievement"), "id", "number"),
        Column("entity_id", _("entity"), "entity_id", "number"),
        Column("title", _("title"), "title"),
        Column("kind", _("kind"), "kind", choices=dict(Achievement.Kind.choices)),
        Column("stage", _("stage"), "stage", choices=dict(Achievement.Stage.choices)),
        Column("created_at", _("created at"), "created_at", "datetime"),
    ],
)

REGISTRATIONS = Export(
    name="registrations",
    label=_("Company registrations (verifications)"),
    queryset=selectors.registrations_visible_to,
    filterset_class=RegistrationFilter,
    columns=[
        Column("id", _("company registration"), "id", "number"),
        Column("entity_id", _("entity"), "entity_id", "number"),
        Column("company_name", _("registered company name"), "company_name"),
        Column("uscc", _("Unified Social Credit Code"), "uscc"),
        Column("registered_on", _("registration date"), "registered_on", "date"),
        Column("registered_capital", _("registered capital (yuan)"), "registered_capital", "money"),
        Column("paid_in_capital", _("paid-in capital (yuan)"), "paid_in_capital", "money"),
        Column("legal_representative", _("legal representative"), "legal_representative"),
        Column("verified_by", _("verified by"), "verified_by__email"),
        Column("verified_at", _("verified at"), "verified_at", "datetime"),
    ],
)

EXPORTS = [ENTITIES, RESIDENCIES, ACHIEVEMENTS, REGISTRATIONS]
