"""The demo valley's seeds: each app registers its seed function in its AppConfig.ready(), in the order of
INSTALLED_APPS (the valley first, then the apps that build on it); `manage.py seed_demo` runs them in that
order inside one transaction."""

from collections.abc import Callable

_SEEDS: list[tuple[str, Callable]] = []


def register_seed(label: str, seed: Callable) -> None:
    """`seed(log=…)` loads the app's demo data and may be run again without changing any count."""
    if all(known != label for known, _ in _SEEDS):
        _SEEDS.append((label, seed))


def seeds() -> list[tuple[str, Callable]]:
    return list(_SEEDS)
