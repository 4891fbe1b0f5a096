"""The word filter: every spelling trick caught, ordinary narration left alone, and streamed
text held back exactly as long as a continuation could still make it part of a match."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from game.catalog import CUSTOMERS, INGREDIENTS, SPICES, TAG_HINTS
from llm.lexicon import ALLOWED, BUILT_IN, CONTEXT, Lexicon, LexiconError, Scan
from llm.sim_text import FILLERS_EN, FILLERS_KO, OPENINGS_EN, OPENINGS_KO, narration
from llm.templates import recap, tell
from protocol.types import Lang, NarrationKind
from tests.llm.samples import facts

LEXICON = Lexicon.load()


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("오늘 국물은 시발 진짜 맛있다", "시발"),
        ("씨발", "시발"),  # a tensed respelling is the same entry
        ("씨빨, 이게 뭐야", "시발"),
        ("ㅅㅂ 맛있네", "시발"),  # 초성체
        ("ㅅ발", "시발"),
        ("씨ㅂ", "시발"),
        ("ㅂㅅ 같은 맛", "병신"),
        ("그래 씨 발", "시발"),  # spaced
        ("씨.발", "시발"),  # symbols between
        ("씨*발 놈아", "시발"),
        ("시 . 발", "시발"),
        ("씨\u200b발", "시발"),  # zero-width space
        ("씨\u202e발", "시발"),  # BiDi override
        ("씨\u3000발", "시발"),  # ideographic space
        ("씨⟨P1⟩발", "시발"),  # a placeholder in the middle
        ("개⟨S12⟩새끼", "개새끼"),
        ("\u1109\u1175\u1107\u1161\u11af", "시발"),  # conjoining jamo
        ("병1신", "병신"),
        ("이 개새끼야", "개새끼"),
        ("미친 놈", "미친놈"),
        ("자살", "자살"),
        ("fuck", "fuck*"),
        ("What the FUCKING hell", "fuck*"),
        ("Ｆｕｃｋ", "fuck*"),  # full-width
        ("f u c k", "fuck*"),
        ("f.u.c.k", "fuck*"),
        ("f*u*c*k", "fuck*"),
        ("f**k", "fuck*"),
        ("sh*t", "shit*"),
        ("sh1t", "shit*"),
        ("bull$h1t", "bullshit*"),
        ("b\u200bitch", "bitch*"),
        ("you ⟨P2⟩bastard", "bastard*"),
        ("retarded", "retard*"),
    ],
)
def test_a_listed_word_is_found_however_it_is_spelled(text: str, entry: str) -> None:
    assert LEXICON.find(text) == entry


@pytest.mark.parametrize(
    "text",
    [
        "다시 발견했다",  # 다시 + 발견: no word begins at 시
        "세 시 발표가 있어요",  # a spaced match must end with a word
        "씨 발아 실험",
        "시발점에 섰다",  # allowed words
        "시발역",
        "샹들리에 아래에서",
        "생강간장 소스",
        "맛보지 못한 맛",  # 보지 is not listed bare: it is also a verb ending
        "자지 않고 기다렸다",
        "쫄깃쫄깃 씹히는 맛",  # 씹 is no entry: it is chewing
        "5개년 계획",
        "십 년 만에",
        "ㅈ",  # one lone consonant is no match
        "class",
        "pass the salt",
        "assess",
        "Scunthorpe",
        "cocktail",
        "rapeseed oil",
        "shitake mushrooms",
        "fire retardant",
        "**Round 2**: the customer is back",
        "I a b",
    ],
)
def test_ordinary_words_are_not_found(text: str) -> None:
    assert LEXICON.find(text) is None


def _template_narrations() -> list[str]:
    kinds: tuple[NarrationKind, ...] = ("entrance", "tasting", "finale")
    langs: tuple[Lang, ...] = ("ko", "en")
    told = []
    for customer in CUSTOMERS:
        for kind in kinds:
            for lang in langs:
                told += [tell(facts(kind, lang, customer)), recap(facts(kind, lang, customer))]
    return told


def _catalog_words() -> list[str]:
    words = [c.story for c in CUSTOMERS] + [c.story_en for c in CUSTOMERS]
    words += [c.name for c in CUSTOMERS] + [c.name_en for c in CUSTOMERS]
    words += [i.name for i in INGREDIENTS] + [i.name_en for i in INGREDIENTS]
    words += [s.name for s in SPICES] + [s.name_en for s in SPICES]
    return words + [hint for pair in TAG_HINTS.values() for hint in pair]


def _simulator_narrations() -> list[str]:
    lines = [*FILLERS_KO, *FILLERS_EN]
    lines += [o.format(customer="손님") for o in OPENINGS_KO]
    lines += [o.format(customer="The guest") for o in OPENINGS_EN]
    for seed in range(20):
        lines += ["".join(narration("", korean, 120, seed)) for korean in (True, False)]
    return lines


def test_the_templates_narrations_are_clean() -> None:
    flagged = {t: LEXICON.find(t) for t in _template_narrations() if LEXICON.find(t)}
    assert flagged == {}


def test_the_catalogs_names_stories_and_hints_are_clean() -> None:
    flagged = {t: LEXICON.find(t) for t in _catalog_words() if LEXICON.find(t)}
    assert flagged == {}


def test_the_simulators_narrations_are_clean() -> None:
    flagged = {t: LEXICON.find(t) for t in _simulator_narrations() if LEXICON.find(t)}
    assert flagged == {}


# Streaming ------------------------------------------------------------------------------

CLEAN = [*FILLERS_KO, *FILLERS_EN, *_template_narrations()[:12]]
TRICKS = [
    "씨발",
    "시 발",
    "ㅅㅂ",
    "씨.발",
    "씨⟨P1⟩발",
    "병\u200b신",
    "개새끼",
    "미친 놈",
    "Ｆｕｃｋ",
    "f u c k",
    "f*u*c*k",
    "sh1t",
    "bitches",
]


def _stream(text: str, cuts: list[int]) -> tuple[int, Scan | None]:
    """Feed `text` in pieces ending at `cuts`, releasing what each scan calls safe: how much
    was released, and the scan that found something (or None)."""
    released = 0
    for end in [*cuts, len(text)]:
        pending = text[released:end]
        scan = LEXICON.scan(pending, end == len(text), text[max(0, released - CONTEXT) : released])
        assert 0 <= scan.safe <= len(pending)
        if scan.found is not None:
            return released, scan
        released += scan.safe
    return released, None


@st.composite
def dirty_texts(draw: st.DrawFn) -> tuple[str, int, list[int]]:
    """Clean sentences with a spelling of a listed word among them; where it starts; cuts."""
    head = " ".join(draw(st.lists(st.sampled_from(CLEAN), max_size=3)))
    tail = " ".join(draw(st.lists(st.sampled_from(CLEAN), max_size=3)))
    head = head + " " if head else ""
    text = head + draw(st.sampled_from(TRICKS)) + (" " + tail if tail else "")
    cuts = draw(st.lists(st.integers(1, len(text) - 1), unique=True, max_size=40))
    return text, len(head), sorted(cuts)


@settings(max_examples=300, deadline=None)
@given(dirty_texts())
def test_streamed_text_never_releases_a_character_of_a_match(
    case: tuple[str, int, list[int]],
) -> None:
    text, start, cuts = case
    released, scan = _stream(text, cuts)
    assert released <= start, f"released {text[:released]!r}"
    assert scan is not None, "not found by the end"
    assert released + scan.safe == start


@st.composite
def clean_texts(draw: st.DrawFn) -> tuple[str, list[int]]:
    text = " ".join(draw(st.lists(st.sampled_from(CLEAN), min_size=1, max_size=4)))
    cuts = draw(st.lists(st.integers(1, max(1, len(text) - 1)), unique=True, max_size=40))
    return text, sorted(c for c in cuts if c < len(text))


@settings(max_examples=200, deadline=None)
@given(clean_texts())
def test_clean_streamed_text_is_all_released_and_only_a_tail_is_held(
    case: tuple[str, list[int]],
) -> None:
    text, cuts = case
    released = 0
    for end in cuts:
        scan = LEXICON.scan(text[released:end], False, text[max(0, released - CONTEXT) : released])
        assert scan.found is None
        released += scan.safe
        assert end - released <= 40, f"holds back {text[released:end]!r}"
    final = LEXICON.scan(text[released:], True, text[:released][-CONTEXT:])
    assert final == Scan(None, len(text) - released)


def test_a_scan_holds_back_what_may_still_become_a_word() -> None:
    ongoing = LEXICON.scan("국물이 끝내줍니다. 그래 씨", final=False)
    assert ongoing.found is None
    assert ongoing.safe <= "국물이 끝내줍니다. 그래 씨".index("씨")
    assert LEXICON.scan("The soup is hot. f u c", final=False).safe == len("The soup is hot. ")
    assert LEXICON.scan("The soup is hot. fu", final=False).safe == len("The soup is hot. ")
    assert LEXICON.scan("그래 씨⟨P", final=False).safe <= len("그래 ")
    assert LEXICON.scan("Hot soup.", final=False) == Scan(None, len("Hot soup."))


def test_what_was_released_before_decides_where_a_word_begins() -> None:
    assert LEXICON.scan("씨 발", final=True, before="그래 ").found == "시발"
    assert LEXICON.scan("씨 발", final=True, before="다").found is None
    assert LEXICON.scan("ck", final=True, before="fu").found == "fuck*"


def test_a_match_waits_for_the_allowed_word_that_may_cover_it() -> None:
    assert LEXICON.scan("여기가 시발", final=False).found is None
    assert LEXICON.scan("여기가 시발점", final=True).found is None
    assert LEXICON.scan("여기가 시발 ", final=False) == Scan("시발", len("여기가 "))


# Lists ----------------------------------------------------------------------------------


def test_the_word_lists_ship_inside_the_package() -> None:
    shipped = resources.files("llm") / "words"
    for name in (*BUILT_IN, ALLOWED):
        lines = (shipped / name).read_text(encoding="utf-8").splitlines()
        assert len([line for line in lines if line and not line.startswith("#")]) >= 10, name


def test_an_operators_file_adds_words_and_exceptions(tmp_path: Path) -> None:
    extra = tmp_path / "words.txt"
    extra.write_text("# ours\n바보\nnitwit*\n!바보온달\n!병신년  # the year\n", encoding="utf-8")
    lexicon = Lexicon.load([extra])
    assert (lexicon.find("이 바보야"), lexicon.find("nitwits")) == ("바보", "nitwit*")
    assert lexicon.find("바보온달 이야기") is None
    assert lexicon.find("병신년 새해") is None
    assert lexicon.find("병신") == "병신"
    assert LEXICON.find("이 바보야") is None


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.txt"
    with pytest.raises(LexiconError, match=r"nowhere\.txt: cannot read"):
        Lexicon.load([missing])


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("바보\n".encode("euc-kr"))
    with pytest.raises(LexiconError, match=r"latin1\.txt: not UTF-8"):
        Lexicon.load([latin])


@pytest.mark.parametrize("line", ["two words", "씨발 놈", "fuck시발", "ㅅ", "f-word"])
def test_a_bad_entry_is_named_by_file_and_line(tmp_path: Path, line: str) -> None:
    extra = tmp_path / "mine.txt"
    extra.write_text(f"바보\n{line}\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"mine\.txt:2: "):
        Lexicon.load([extra])
