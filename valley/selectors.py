"""Reads for the valley's public pages."""

from dataclasses import dataclass

from django.db.models import Count, Q

from valley.models import FocusArea, Institution, SubVenue, Target, Valley


@dataclass(frozen=True)
class TargetProgress:
    target: Target
    current: int

    @property
    def percent(self) -> float:
        return min(100.0, round(100.0 * self.current / self.target.target_value, 1))


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


def valley_figures() -> ValleyFigures:
    """Live figures for the home page. A fixed number of queries (one per table), whatever the data size."""
    from teams.models import Achievement, Entity

    entity_counts = Entity.objects.aggregate(
        teams=Count("pk", filter=Q(kind=Entity.Kind.RESEARCH_TEAM)),
        startups=Count("pk", filter=Q(kind=Entity.Kind.STARTUP)),
    )
    venue_counts = SubVenue.objects.aggregate(
        total=Count("pk"), open=Count("pk", filter=Q(status=SubVenue.Status.OPEN))
    )
    transformed = Achievement.objects.filter(stage=Achievement.Stage.TRANSFORMED).count()
    measured = {
        Target.Measure.ACHIEVEMENTS_TRANSFORMED: transformed,
        Target.Measure.ENTERPRISES_CULTIVATED: entity_counts["startups"],
    }
    targets = [
        TargetProgress(target, measured.get(target.measure, target.recorded_value)) for target in Target.objects.all()
    ]
    return ValleyFigures(
        valley=Valley.objects.first(),
        sub_venues_open=venue_counts["open"],
        sub_venues_total=venue_counts["total"],
        institutions=Institution.objects.count(),
        research_teams=entity_counts["teams"],
        startups=entity_counts["startups"],
        achievements_transformed=transformed,
        targets=targets,
    )


def sub_venue_list():
    return SubVenue.objects.all()


def focus_area_list():
    return FocusArea.objects.all()
