"""What each app holds about a person. The ground floor never imports the apps above it: each registers a
provider in its AppConfig.ready() and valley.privacy only calls them.

A provider's `export(user)` returns {table name: [row dicts]} of the person's records, and nobody else's
personal fields; `files(user)` returns [(name in the zip, FieldFile, size in bytes)] of the person's uploaded files;
`anonymise(user, email)` replaces the person's fields in the app's records (called before the account's own
fields are replaced, so `email` is still the address they were recorded under) and returns {what: how many}.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Provider:
    label: str
    export: Callable
    files: Callable | None = None
    anonymise: Callable | None = None


_PROVIDERS: dict[str, Provider] = {}


def register_provider(
    label: str, *, export: Callable, files: Callable | None = None, anonymise: Callable | None = None
):
    _PROVIDERS[label] = Provider(label, export, files, anonymise)


def providers() -> list[Provider]:
    return list(_PROVIDERS.values())
