"""Both languages ship complete: every message in every catalogue has a current Chinese translation."""

from pathlib import Path

import polib
import pytest

from tests.conftest import ROOT

CATALOGUES = sorted(p for p in ROOT.glob("**/locale/zh_Hans/LC_MESSAGES/django.po") if ".venv" not in p.parts)


def test_there_is_a_chinese_catalogue():
    assert CATALOGUES


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: str(Path(p).relative_to(ROOT)))
def test_every_message_is_translated(path):
    catalogue = polib.pofile(str(path))
    missing = [entry.msgid for entry in catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]
    assert not missing, f"untranslated in {path}: {missing[:20]}"
    assert not fuzzy, f"fuzzy (unchecked) in {path}: {fuzzy[:20]}"


def test_a_message_reads_the_same_in_every_catalogue():
    """Django merges the catalogues into one per language (LOCALE_PATHS first, then the apps in their
    INSTALLED_APPS order), so a message translated two ways shows only one of them on every page: the
    application's "reject" would read as the service desk's 不予受理. One term per concept; where the same
    English word means two things, the code gives it a context (pgettext)."""
    translations: dict[tuple, dict[str, str]] = {}
    for path in CATALOGUES:
        for entry in polib.pofile(str(path)):
            if entry.obsolete or not entry.msgstr:
                continue
            where = str(Path(path).relative_to(ROOT))
            translations.setdefault((entry.msgctxt, entry.msgid), {})[where] = entry.msgstr
    disagreeing = {key: found for key, found in translations.items() if len(set(found.values())) > 1}
    assert not disagreeing, "translated differently in different catalogues: " + "; ".join(
        f"{key[1]!r}{f' ({key[0]})' if key[0] else ''}: {found}" for key, found in list(disagreeing.items())[:15]
    )
