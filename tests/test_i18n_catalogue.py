"""The Korean catalogue is complete and the compiled one matches it."""

from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

LOCALE = Path(__file__).resolve().parent.parent / "locale" / "ko" / "LC_MESSAGES"


def _po():
    with open(LOCALE / "django.po", "rb") as fh:
        return read_po(fh)


def test_every_korean_message_is_translated():
    missing = [m.id for m in _po() if m.id and not m.fuzzy and not _translated(m.string)]
    fuzzy = [m.id for m in _po() if m.id and m.fuzzy]
    assert not missing, f"untranslated: {missing[:20]}"
    assert not fuzzy, f"fuzzy (needs review): {fuzzy[:20]}"


def test_the_compiled_catalogue_matches_the_source():
    with open(LOCALE / "django.mo", "rb") as fh:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(fh) if m.id}
    source = {_key(m.id): _key(m.string) for m in _po() if m.id}
    assert compiled == source, "run `make messages` and commit locale/ko/LC_MESSAGES/django.mo"


def _translated(string) -> bool:
    if isinstance(string, tuple):
        return all(string)
    return bool(string)


def _key(value):
    # Plural entries come back as lists from one reader and tuples from the other.
    return tuple(value) if isinstance(value, (list, tuple)) else value
