"""Service guides (办事指南): a public page per service and an index (views.py), the six guides as first
published (content.py), and the hook through which an app shows a signed-in reader whether they meet the
service's conditions (the start-up fund's pre-check).

The ground floor names no app above it: an app registers its pre-check in its AppConfig.ready()
(`register_precheck("fund", funding.selectors.guide_precheck)`), and the guide page calls what is registered.
A pre-check takes the user and returns a list of `PrecheckGroup`s.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.urls import reverse

from valley.models import Guide

FUND, RESIDENCY = "fund", "residency"


@dataclass(frozen=True)
class Check:
    """One condition, met or not, with the page that fixes it when not."""

    label: str
    met: bool
    fix_url: str = ""
    fix_label: str = ""


@dataclass(frozen=True)
class PrecheckGroup:
    title: str  # "Your account", a team's name
    checks: list[Check] = field(default_factory=list)
    # The next step once every condition is met (the fund's application form for that team), or none.
    go_url: str = ""
    go_label: str = ""

    @property
    def all_met(self) -> bool:
        return all(check.met for check in self.checks)


_PRECHECKS: dict[str, Callable] = {}


def register_precheck(service: str, precheck: Callable) -> None:
    """`precheck(user)` → [PrecheckGroup], shown on the guide of `service` to a signed-in reader."""
    _PRECHECKS[service] = precheck


def precheck_for(service: str, user) -> list[PrecheckGroup] | None:
    precheck = _PRECHECKS.get(service)
    if precheck is None or not getattr(user, "is_authenticated", False):
        return None
    return precheck(user)


@transaction.atomic
def guide_save(*, guide: Guide, by) -> Guide:
    """Staff save a guide (the admin's form already validated it); the audit log keeps what changed."""
    if guide.pk is None:
        guide.save()
        from valley import audit

        audit.record_created(guide, action="valley.guide.created", actor=by)
        return guide
    from valley import audit

    before = audit.snapshot(Guide.objects.select_for_update().get(pk=guide.pk))
    guide.save()
    audit.record_changed(guide, action="valley.guide.changed", before=before, actor=by)
    return guide


def guide_url(code: str) -> str:
    """The address of a service's guide, for the forms it governs (and the template tag of the same name)."""
    return reverse("guide_detail", args=[code])
