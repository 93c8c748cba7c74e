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
