"""The page's text (`webgl/locales/*.json`, shared with the Unity sample): both languages have
the same keys, and every key the page asks for is in them, including the families it looks up
by a server value (error codes, scoring rules, narration kinds and sources, client statuses)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, get_args

import pytest

from game.scoring import RULES
from protocol.errors import ErrorCode
from protocol.types import NarrationKind, NarrationSource

ROOT = Path(__file__).resolve().parents[2]
WEBGL = ROOT / "webgl"
LOCALES = ("ko", "en")

CALL = re.compile(r"\b(?:t|lookup)\(([^,)]*)")
"""A text lookup and its first argument: a key, a choice of keys, or a template."""
QUOTED = re.compile(r"'([^']*)'")
TEMPLATE = re.compile(r"`([\w.]+)\.\$\{")
CODE = re.compile(r"\bcode: ([^,}]+)")
STATUSES = re.compile(r"/\*\* ('[\w-]+'(?: \| '[\w-]+')+) \*/")


def flatten(node: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def locale(lang: str) -> dict[str, Any]:
    text = (WEBGL / "locales" / f"{lang}.json").read_text(encoding="utf-8")
    return flatten(json.loads(text))


def sources(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.js")))


PAGE = sources(WEBGL / "js" / "page")
CLIENT = "\n".join(p.read_text(encoding="utf-8") for p in sorted((WEBGL / "js").glob("*.js")))


def literal_keys() -> set[str]:
    return {key for call in CALL.findall(PAGE) for key in QUOTED.findall(call)}


def local_codes() -> set[str]:
    """The codes the client and the page make themselves (`offline`, `timeout`, ...)."""
    return {code for expr in CODE.findall(CLIENT + PAGE) for code in QUOTED.findall(expr)}


def statuses() -> set[str]:
    found = STATUSES.search(CLIENT)
    assert found, "client.js documents its statuses as a union of strings"
    return set(QUOTED.findall(found.group(1)))


def families() -> dict[str, set[str]]:
    """Keys the page builds from a value: every value it can meet must have its text."""
    return {
        "errors": {code.value for code in ErrorCode} | local_codes() | {"unknown"},
        "rules": {"base", "clamp", *(name for name, _ in RULES)},
        "kinds": set(get_args(NarrationKind)),
        "sources": set(get_args(NarrationSource)),
        "status": statuses(),
        "fields": set(),  # optional: a field without a name is shown without one
    }


def test_both_languages_have_the_same_keys() -> None:
    ko, en = (set(locale(lang)) for lang in LOCALES)
    assert ko - en == set(), "only in ko.json"
    assert en - ko == set(), "only in en.json"


@pytest.mark.parametrize("lang", LOCALES)
def test_every_text_is_a_non_empty_string(lang: str) -> None:
    bad = [key for key, value in locale(lang).items() if not isinstance(value, str) or not value]
    assert bad == []


@pytest.mark.parametrize("lang", LOCALES)
def test_every_key_the_page_names_exists(lang: str) -> None:
    keys = literal_keys()
    assert len(keys) > 50, f"the scan found too few keys to be right: {sorted(keys)}"
    assert sorted(keys - set(locale(lang))) == []


@pytest.mark.parametrize("lang", LOCALES)
def test_every_key_the_page_builds_from_a_value_exists(lang: str) -> None:
    texts = locale(lang)
    known = families()
    built = set(TEMPLATE.findall(PAGE))
    assert built, "the scan found no built keys"
    assert sorted(built - set(known)) == [], "a key family this test does not know"
    for family in built:
        missing = {value for value in known[family] if f"{family}.{value}" not in texts}
        assert sorted(missing) == [], family


SAMPLE_KEY = re.compile(r'_text(?:\[|\.Format\()"([\w.]+)"')


def test_every_key_the_unity_sample_asks_for_exists() -> None:
    sample = (WEBGL / "unity" / "Samples~" / "QuickStart" / "QuickStart.cs").read_text("utf-8")
    keys = set(SAMPLE_KEY.findall(sample))
    assert len(keys) >= 8, keys
    for lang in LOCALES:
        assert keys <= set(locale(lang)), keys - set(locale(lang))
