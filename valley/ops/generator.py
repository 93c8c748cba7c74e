"""The province generator's steps (`manage.py generate_province`): each app registers, in its
AppConfig.ready(), the step that fills its tables, in the order of INSTALLED_APPS. The command runs the
valley's own step first (sub-venues, institutions, users), then the registered steps in that order (an app
reads what the apps below it made), then the audit log, all in one transaction.

A step is `step(province)`: it writes its rows through `province.copy` (COPY) or bulk_create, draws every
random number from `province.random` (so a seed gives the same data, as long as the steps run in the same
order and draw in the same order), dates its rows with `province.at(day)`, and leaves the ids the steps
above it need in `province.made`.
"""

import datetime
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

# Day 0 of the generated province; every generated date is a number of days after it.
BASE = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)


@dataclass
class Province:
    """What the steps share while the province is generated."""

    sizes: dict[str, int]  # how many of each kind of row (the command's size table, one of its rows)
    random: random.Random
    copy: Callable[[str, list[str], Iterable], int]  # copy(table, columns, rows) streams rows in, returns the count
    log: Callable[[str], None]  # a progress line, with the time since the start
    # What earlier steps made, by name: "venues", "staff_user", "entity_ids", … (each step's docstring says what
    # it reads and what it leaves).
    made: dict[str, object] = field(default_factory=dict)

    def at(self, day: float) -> datetime.datetime:
        return BASE + datetime.timedelta(days=day)


@dataclass(frozen=True)
class Step:
    label: str
    run: Callable[[Province], None]
    # The models whose tables `--replace` empties before the step runs again (with their many-to-many tables).
    empties: tuple[type, ...]


_STEPS: list[Step] = []


def register_step(label: str, step: Callable[[Province], None], *, empties: Iterable[type] = ()) -> None:
    if all(known.label != label for known in _STEPS):
        _STEPS.append(Step(label, step, tuple(empties)))


def steps() -> list[Step]:
    return list(_STEPS)
