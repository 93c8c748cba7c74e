"""Both languages ship complete: every message in every catalogue has a current Chinese translation."""

import tomllib
from pathlib import Path

import polib
import pytest

from tests.conftest import ROOT

CATALOGUES = sorted(p for p in ROOT.glob("**/locale/zh_Hans/LC_MESSAGES/django.po") if ".venv" not in p.parts)
GLOSSARY = ROOT / "locale" / "glossary.toml"
PERSONS_NAME = "person's name"  # the context of a "Name" that is a person's (the members table's column)


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


def glossary() -> list[dict]:
    return tomllib.loads(GLOSSARY.read_text(encoding="utf-8"))["term"]


def forbidden_in(text: str, term: dict) -> list[str]:
    """The glossary's forbidden variants of `term` that `text` uses, once the longer words that contain one
    but name another concept (the term's `allowed`, e.g. 责任主体 beside 主体) are taken out."""
    for word in sorted(term.get("allowed", []), key=len, reverse=True):
        text = text.replace(word, "\0")
    return [variant for variant in term["forbidden"] if variant in text]


def test_the_glossary_names_one_english_and_one_chinese_term_per_concept():
    terms = glossary()
    assert terms
    for term in terms:
        assert term["concept"] and term["en"] and term["zh"] and term["forbidden"], term
        assert isinstance(term["en"], str) and isinstance(term["zh"], str), f"one term per concept: {term}"
    for field in ("en", "zh"):
        seen = [term[field] for term in terms]
        assert len(seen) == len(set(seen)), f"two concepts share a {field} term: {seen}"
    # No term's own word is one the glossary forbids elsewhere, or the test below would forbid the term itself.
    contradictions = {(term["zh"], other["en"]) for term in terms for other in terms if forbidden_in(term["zh"], other)}
    assert not contradictions, f"a glossary term is another's forbidden variant: {contradictions}"


def _messages():
    for path in CATALOGUES:
        for entry in polib.pofile(str(path)):
            if entry.obsolete:
                continue
            for text in [entry.msgstr, *entry.msgstr_plural.values()]:
                if text:
                    yield str(Path(path).relative_to(ROOT)), entry, text


def test_no_catalogue_uses_a_word_the_glossary_forbids():
    """One Chinese word per concept (locale/glossary.toml): a forbidden variant that creeps back into any
    catalogue fails here, naming the message and the glossary's term to use instead."""
    terms = glossary()
    found = []
    for where, entry, text in _messages():
        for term in terms:
            if entry.msgid in term.get("exceptions", []):
                continue
            for variant in forbidden_in(text, term):
                found.append(f"{where}: {entry.msgid!r} -> {text!r} uses {variant}; the glossary says {term['zh']}")
    assert not found, f"{len(found)} message(s) off the glossary:\n" + "\n".join(found[:30])


def test_a_persons_name_is_姓名_never_名称():
    """名称 is the name of a thing (a sub-venue, a fund); a person has a 姓名, a 姓 and a 名."""
    (person,) = [term for term in glossary() if term["en"] == "full name"]
    about_people = {msgid.lower() for msgid in person["person_msgids"]}
    wrong = [
        (where, entry.msgctxt, entry.msgid, text)
        for where, entry, text in _messages()
        if (entry.msgid.lower() in about_people or entry.msgctxt == PERSONS_NAME)
        and ("名称" in text or not any(word in text for word in ("姓名", "姓", "名")))
    ]
    assert not wrong, f"a person's name translated as a thing's: {wrong}"


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def test_the_chinese_texts_shipped_as_data_follow_the_glossary_too():
    """The first service guides and privacy notice are data (staff edit them in the admin), not catalogue
    messages, but a new database starts with them: they use the glossary's words as well."""
    from valley.guides import content
    from valley.privacy import defaults

    terms = glossary()
    found = [
        f"{module.__name__}.{name}: {text[:60]!r}… uses {variant}; the glossary says {term['zh']}"
        for module in (content, defaults)
        for name in dir(module)
        if name.isupper()
        for text in _strings(getattr(module, name))
        for term in terms
        for variant in forbidden_in(text, term)
    ]
    assert not found, "\n".join(found)
