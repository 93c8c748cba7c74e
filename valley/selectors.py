"""Reads for the valley's public pages."""

from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, OuterRef, Subquery
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from valley.models import FocusArea, Institution, SubVenue, Target, Valley


@dataclass(frozen=True)
class TargetProgress:
    target: Target
    current: int

    @property
    def percent(self) -> float:
        return min(100.0, round(100.0 * self.current / self.target.target_value, 1))


@dataclass(frozen=True)
class BreakdownRow:
    """Progress toward the two counted targets for one sub-venue or one focus area."""

    label: str
    achievements_transformed: int
    enterprises: int


@dataclass(frozen=True)
class ValleyFigures:
    valley: Valley | None
    sub_venues_open: int
    sub_venues_total: int
    institutions: int
    research_teams: int
    startups: int
    achievements_transformed: int
    targets: list[TargetProgress]
    by_sub_venue: list[BreakdownRow]
    by_focus_area: list[BreakdownRow]
    sub_venues: list[SubVenue]
    focus_areas: list[FocusArea]


def _latest_sub_venue(entity_ref: str):
    """The sub-venue of the entity's latest residency (active or ended): where it was cultivated."""
    from teams.models import Residency

    return Subquery(
        Residency.objects.filter(entity=OuterRef(entity_ref)).order_by("-selected_on", "-pk").values("sub_venue")[:1]
    )


def _sum_by(rows, key: str) -> dict:
    counts: dict = {}
    for row in rows:
        counts[row[key]] = counts.get(row[key], 0) + row["count"]
    return counts


def _rows(labelled, transformed: dict, enterprises: dict, none_label) -> list[BreakdownRow]:
    rows = [BreakdownRow(str(label), transformed.get(pk, 0), enterprises.get(pk, 0)) for pk, label in labelled]
    if transformed.get(None) or enterprises.get(None):
        rows.append(BreakdownRow(str(none_label), transformed.get(None, 0), enterprises.get(None, 0)))
    return rows


def valley_figures() -> ValleyFigures:
    """Live figures for the home page, with the sub-venue and focus-area lists it shows.

    A fixed number of queries whatever the data size: entities and transformed achievements are
    each counted in one grouped query by (latest sub-venue, focus area), and the splits are summed
    from those rows in Python.
    """
    from teams.models import Achievement, Entity

    entity_groups = list(
        Entity.objects.annotate(venue=_latest_sub_venue("pk"))
        .values("kind", "venue", "focus_area")
        .annotate(count=Count("pk"))
        .order_by()
    )
    startup_groups = [row for row in entity_groups if row["kind"] == Entity.Kind.STARTUP]
    achievement_groups = list(
        Achievement.objects.filter(stage=Achievement.Stage.TRANSFORMED)
        .annotate(venue=_latest_sub_venue("entity_id"))
        .values("venue", "entity__focus_area")
        .annotate(count=Count("pk"))
        .order_by()
    )
    startups = sum(row["count"] for row in startup_groups)
    transformed = sum(row["count"] for row in achievement_groups)
    sub_venues = list(SubVenue.objects.all())
    focus_areas = list(FocusArea.objects.all())
    by_sub_venue = _rows(
        [(venue.pk, venue.name) for venue in sub_venues],
        _sum_by(achievement_groups, "venue"),
        _sum_by(startup_groups, "venue"),
        _("not resident in a sub-venue"),
    )
    by_focus_area = _rows(
        [(area.pk, area.name) for area in focus_areas],
        _sum_by(achievement_groups, "entity__focus_area"),
        _sum_by(startup_groups, "focus_area"),
        _("no focus area"),
    )
    measured = {
        Target.Measure.ACHIEVEMENTS_TRANSFORMED: transformed,
        Target.Measure.ENTERPRISES_CULTIVATED: startups,
    }
    targets = [
        TargetProgress(target, measured.get(target.measure, target.recorded_value)) for target in Target.objects.all()
    ]
    return ValleyFigures(
        valley=Valley.objects.first(),
        sub_venues_open=sum(1 for venue in sub_venues if venue.status == SubVenue.Status.OPEN),
        sub_venues_total=len(sub_venues),
        institutions=Institution.objects.count(),
        research_teams=sum(row["count"] for row in entity_groups if row["kind"] == Entity.Kind.RESEARCH_TEAM),
        startups=startups,
        achievements_transformed=transformed,
        targets=targets,
        by_sub_venue=by_sub_venue,
        by_focus_area=by_focus_area,
        sub_venues=sub_venues,
        focus_areas=focus_areas,
    )


def valley_figures_cached() -> ValleyFigures:
    """valley_figures(), kept in the cache for HOME_FIGURES_CACHE_SECONDS (per language, for its labels).

    The home dashboard is the busiest page and its figures group every entity and achievement; a
    minute-old count is as good as a live one to its readers, and one computation a minute per worker
    costs nothing at any data size. 0 turns the cache off (the tests do).
    """
    seconds = settings.HOME_FIGURES_CACHE_SECONDS
    if seconds <= 0:
        return valley_figures()
    return cache.get_or_set(f"valley:figures:{get_language()}", valley_figures, timeout=seconds)


def sub_venue_list():
    return SubVenue.objects.all()


def focus_area_list():
    return FocusArea.objects.all()
