"""Reads for the valley's public pages."""

from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
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
    # The service system's figures per service line, as the teams app counts them (register_service_counts).
    services: list = field(default_factory=list)


@dataclass(frozen=True)
class EntityCounts:
    """What the registry of entities contributes to the home page: counts grouped by
    (latest sub-venue id, focus area id), each a list of {"venue", "focus_area", "count"} rows."""

    research_teams: int
    startups: list[dict]
    transformed: list[dict]


# The teams app registers the function that counts its entities (TeamsConfig.ready); the ground floor
# names no app above it. With none registered the home page shows zeros.
_entity_counts = None


# The teams app registers the function that counts service requests per line for the home page
# (TeamsConfig.ready): a list of rows with `line` (a label), `received`, `resolved_within_limit`, `overdue`
# and `average_rating`. With none registered the home page shows no service block.
_service_counts = None


def register_service_counts(counter) -> None:
    global _service_counts
    _service_counts = counter


def register_entity_counts(counter) -> None:
    global _entity_counts
    _entity_counts = counter


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

    A fixed number of queries whatever the data size: the registered entity counter groups entities
    and transformed achievements by (latest sub-venue, focus area) in one query each, and the splits
    are summed from those rows in Python.
    """
    counts = _entity_counts() if _entity_counts else EntityCounts(0, [], [])
    startups = sum(row["count"] for row in counts.startups)
    transformed = sum(row["count"] for row in counts.transformed)
    sub_venues = list(SubVenue.objects.all())
    focus_areas = list(FocusArea.objects.all())
    by_sub_venue = _rows(
        [(venue.pk, venue.name) for venue in sub_venues],
        _sum_by(counts.transformed, "venue"),
        _sum_by(counts.startups, "venue"),
        _("not resident in a sub-venue"),
    )
    by_focus_area = _rows(
        [(area.pk, area.name) for area in focus_areas],
        _sum_by(counts.transformed, "focus_area"),
        _sum_by(counts.startups, "focus_area"),
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
        research_teams=counts.research_teams,
        startups=startups,
        achievements_transformed=transformed,
        targets=targets,
        by_sub_venue=by_sub_venue,
        by_focus_area=by_focus_area,
        sub_venues=sub_venues,
        focus_areas=focus_areas,
        services=list(_service_counts()) if _service_counts else [],
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
