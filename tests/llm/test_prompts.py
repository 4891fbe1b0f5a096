"""What the model is asked."""

from __future__ import annotations

import orjson

from llm.prompts import SYSTEM_EN, SYSTEM_KO, max_tokens, messages
from protocol.types import Lang, NarrationKind
from tests.llm.samples import NURSE, facts


def facts_json(content: str) -> dict[str, object]:
    found = orjson.loads(content[content.index("{") :])
    assert isinstance(found, dict)
    return found


def test_the_system_prompt_is_fixed_per_language_so_the_prefix_cache_keeps_it() -> None:
    korean = [messages(facts(kind))[0]["content"] for kind in ("entrance", "tasting", "finale")]
    assert korean == [SYSTEM_KO] * 3
    assert messages(facts("tasting", lang="en"))[0]["content"] == SYSTEM_EN


def test_the_facts_give_players_scores_and_places_as_placeholders() -> None:
    told = facts("tasting")
    asked = facts_json(messages(told)[1]["content"])
    bowls = asked["bowls_best_first"]
    assert isinstance(bowls, list)
    assert [(b["player"], b["score"], b["place"]) for b in bowls] == [
        (f"⟨P{t.who}⟩", f"⟨S{t.who}⟩", f"⟨R{t.who}⟩") for t in told.tastings
    ]
    assert bowls[0]["verdict"] == "최고"  # 88 points: how it landed, in a word
    assert bowls[2] == {
        "player": "⟨P3⟩",
        "place": "⟨R3⟩",
        "score": "⟨S3⟩",
        "verdict": None,
        "served": False,
        "ingredients": [],
        "spice": None,
    }
    assert asked["winner"] == ["⟨P1⟩"]
    assert "⟨P1⟩님" in SYSTEM_KO  # the model is told how to name a player


def test_the_finale_gives_totals_and_places_as_placeholders() -> None:
    asked = facts_json(messages(facts("finale"))[1]["content"])
    assert asked["standings"] == [
        {"player": f"⟨P{n}⟩", "place": f"⟨R{n}⟩", "total": f"⟨T{n}⟩"} for n in (1, 2, 3)
    ]


def test_an_entrance_gives_hints_not_numbers() -> None:
    customer = facts_json(messages(facts("entrance"))[1]["content"])["customer"]
    assert isinstance(customer, dict)
    assert set(customer) == {"name", "story", "likes", "dislikes", "craves", "spice", "wallet"}
    assert not any(ch.isdigit() for ch in orjson.dumps(customer).decode())


def test_english_tables_are_asked_in_english() -> None:
    ask = messages(facts("entrance", lang="en"))[1]["content"]
    assert ask.startswith("Tell the entrance in 3 to 5 sentences.")
    customer = facts_json(ask)["customer"]
    assert isinstance(customer, dict)
    assert customer["name"] == NURSE.name_en


def test_the_length_budget_grows_with_the_players_under_the_ceiling() -> None:
    assert max_tokens(facts("entrance"), 350) == 180
    assert max_tokens(facts("tasting"), 1000) == 80 + 3 * 70
    assert max_tokens(facts("tasting"), 200) == 200


def test_a_shorter_narration_asks_for_a_share_of_its_tokens() -> None:
    assert max_tokens(facts("entrance"), 350, scale=0.75) == 135
    assert max_tokens(facts("tasting"), 1000, scale=0.5) == (80 + 3 * 70) // 2
    assert max_tokens(facts("tasting"), 200, scale=0.5) == 100  # a share of what it may ask
    assert max_tokens(facts("entrance"), 1, scale=0.5) == 1


def test_a_shorter_narration_asks_for_fewer_sentences_and_tells_the_same_facts() -> None:
    def ask(kind: NarrationKind, lang: Lang, scale: float) -> str:
        return messages(facts(kind, lang=lang), scale=scale)[1]["content"]

    assert ask("entrance", "en", 0.75).startswith("Tell the entrance in 2 to 3 sentences.\n")
    assert ask("entrance", "en", 0.5).startswith("Tell the entrance in 1 to 2 sentences.\n")
    assert ask("tasting", "en", 0.5).startswith("Tell the tasting in 1 sentence per player.\n")
    assert ask("entrance", "ko", 0.75).startswith("entrance 이야기를 2~3문장으로 들려줘.\n")
    assert ask("tasting", "ko", 0.5).startswith("tasting 이야기를 1문장 (플레이어마다)으로 들려줘.")
    assert ask("finale", "en", 1.0).startswith("Tell the finale in 3 to 5 sentences.\n")
    assert facts_json(ask("tasting", "ko", 0.5)) == facts_json(ask("tasting", "ko", 1.0))
    shorter = messages(facts("tasting"), scale=0.5)[0]
    assert shorter == messages(facts("tasting"))[0]  # the system prompt: still cached
