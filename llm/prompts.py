"""What the model is asked: a fixed system prompt per language (identical on every request,
so vLLM's prefix cache keeps it) and the narration's facts as JSON.

The facts are the only thing that changes, and they hold nothing a player typed: players are
`⟨P1⟩`…, and the scores, totals and places the game decided are placeholders too
(`llm.placeholders`). The model copies the placeholders; the hub fills them in.
"""

from __future__ import annotations

from typing import Any

import orjson

from game.catalog import INGREDIENTS_BY_ID, SPICES, TAG_HINTS, IngredientId, Tag
from llm.facts import NarrationFacts
from llm.placeholders import placeholder
from llm.templates import TIGHT_BUDGET, verdict

SYSTEM_KO = """너는 마라탕 가게 게임의 이야기꾼이다. 플레이어들은 요리사이고, 라운드마다 손님 한 명에게 마라탕을 끓여 준다.
규칙:
- 사용자 메시지의 JSON에 있는 사실만 이야기한다. 재료, 점수, 순위를 지어내거나 바꾸지 않는다.
- 플레이어는 ⟨P1⟩, ⟨P2⟩처럼 자리표시자로 주어진다. 플레이어를 부를 때는 자리표시자를 그대로 쓰고 뒤에 "님"을 붙인다(예: ⟨P1⟩님). 다른 이름을 지어내지 않는다.
- 점수(⟨S1⟩), 총점(⟨T1⟩), 순위(⟨R1⟩)도 자리표시자로 주어진다. 숫자로 바꾸지 말고 그대로 쓴다(예: ⟨S1⟩점, ⟨R1⟩위).
- 이야기 본문만 쓴다. 제목, 목록, 마크다운, 따옴표로 감싼 설명을 쓰지 않는다.
- 밝고 재치 있는 존댓말로, 요청된 길이에 맞춰 쓴다. 누구나 듣는 자리이니 욕설, 비하, 선정적인 말은 쓰지 않는다.
종류별 내용:
- entrance: 손님이 들어와 사연을 말하고, 좋아하는 맛과 싫어하는 맛, 간절히 찾는 것, 매운 정도, 지갑 사정을 힌트로 흘린다. 숫자는 말하지 않는다.
- tasting: 손님이 그릇을 꼴찌부터 1등까지 차례로 맛보고 verdict에 맞게 반응한다. 모든 플레이어를 자리표시자로 부르고 점수를 말한 뒤, 마지막에 winner를 이번 라운드의 승자로 발표한다.
- finale: 모든 손님을 배웅하고 최종 순위와 총점을 발표하며 마무리한다."""

SYSTEM_EN = """You are the narrator of a party game set in a malatang shop. The players are cooks; each round they cook a bowl for one customer.
Rules:
- Tell only the facts in the JSON of the user message. Never invent or change ingredients, scores or places.
- Players are given as placeholders such as ⟨P1⟩ and ⟨P2⟩. Name a player by writing their placeholder exactly as given; never make up a name.
- Scores (⟨S1⟩), totals (⟨T1⟩) and places (⟨R1⟩) are placeholders too. Write them exactly as given, never as numbers (for example: ⟨S1⟩ points, place ⟨R1⟩).
- Write the story only: no titles, lists, markdown or quoted explanations.
- Be warm and witty, and keep to the requested length. Everyone is listening: no swearing, slurs or sexual remarks.
By kind:
- entrance: the customer walks in, tells their story, and hints at the flavours they like and dislike, what they crave, how spicy they want it and how full their wallet is. Never say numbers.
- tasting: the customer tastes the bowls from last place to first and reacts to each as its verdict says. Name every player by their placeholder with their score, then announce the winner as the round's winner.
- finale: the last customer has gone; announce the final places and totals, and close the night."""

LENGTH = {"entrance": (3, 5), "tasting": (1, 2), "finale": (3, 5)}
"""Sentences to aim for: for `tasting`, per player (plus the winner's announcement)."""

MAX_TOKENS = {"entrance": 180, "tasting": 70, "finale": 180}
"""Tokens to allow: for `tasting`, per player, on top of `TASTING_BASE_TOKENS`."""
TASTING_BASE_TOKENS = 80


def messages(facts: NarrationFacts, scale: float = 1.0) -> list[dict[str, str]]:
    """The chat for these facts. Below 1, `scale` asks for that share of the sentences (at
    least one), to go with `max_tokens`' share of the tokens."""
    korean = facts.lang == "ko"
    return [
        {"role": "system", "content": SYSTEM_KO if korean else SYSTEM_EN},
        {"role": "user", "content": _ask(facts, korean, scale)},
    ]


def max_tokens(facts: NarrationFacts, ceiling: int, scale: float = 1.0) -> int:
    """The narration's length budget, never above the operator's `ceiling`; `scale` of it
    when the narration is to be shorter (the queue for the model is long)."""
    wanted = MAX_TOKENS[facts.kind]
    if facts.kind == "tasting":
        wanted = TASTING_BASE_TOKENS + wanted * max(1, len(facts.tastings))
    return max(1, int(min(wanted, ceiling) * scale))


def _ask(facts: NarrationFacts, korean: bool, scale: float = 1.0) -> str:
    low, high = LENGTH[facts.kind]
    low = max(1, int(low * scale))  # rounded down, to fit the tokens cut as much
    high = max(low, int(high * scale))
    per = (" per player" if not korean else " (플레이어마다)") if facts.kind == "tasting" else ""
    if korean:
        count = f"{low}~{high}" if low < high else f"{low}"
        head = f"{facts.kind} 이야기를 {count}문장{per}으로 들려줘."
    else:
        count = f"{low} to {high}" if low < high else f"{low}"
        count += " sentence" if count == "1" else " sentences"
        head = f"Tell the {facts.kind} in {count}{per}."
    data = orjson.dumps(_facts(facts, korean), option=orjson.OPT_INDENT_2).decode()
    return f"{head}\n{data}"


def _facts(facts: NarrationFacts, korean: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": facts.kind, "round": facts.round, "rounds": facts.rounds}
    c = facts.customer
    if c is not None:
        out["customer"] = {"name": c.name if korean else c.name_en}
        if facts.kind == "entrance":
            out["customer"] |= {
                "story": c.story if korean else c.story_en,
                "likes": [_hint(t, korean) for t in sorted(c.likes)],
                "dislikes": [_hint(t, korean) for t in sorted(c.dislikes)],
                "craves": _craving(c.craving, korean),
                "spice": _spice(c.spice_min, c.spice_max, korean),
                "wallet": _wallet(c.budget, korean),
            }
    if facts.tastings:
        out["bowls_best_first"] = [
            {
                "player": t.name,
                "place": placeholder("R", t.who),
                "score": placeholder("S", t.who),
                "verdict": verdict(t.score, korean) if t.ingredients else None,
                "served": bool(t.ingredients),
                "ingredients": [i.name if korean else i.name_en for i in t.ingredients],
                "spice": (SPICES[t.spice].name if korean else SPICES[t.spice].name_en)
                if t.ingredients
                else None,
            }
            for t in facts.tastings
        ]
        out["winner"] = [placeholder("P", who) for who in facts.winners]
    if facts.kind == "finale":
        out["standings"] = [
            {
                "player": s.name,
                "place": placeholder("R", s.who),
                "total": placeholder("T", s.who),
            }
            for s in facts.standings
        ]
    return out


def _hint(tag: Tag, korean: bool) -> str:
    ko, en = TAG_HINTS[tag]
    return ko if korean else en


def _craving(craving: str, korean: bool) -> str:
    if craving in INGREDIENTS_BY_ID:
        item = INGREDIENTS_BY_ID[IngredientId(craving)]
        return item.name if korean else item.name_en
    return _hint(Tag(craving), korean)


def _spice(low: int, high: int, korean: bool) -> str:
    if high <= 1:
        return "매운 것은 싫어함" if korean else "no heat at all"
    if low >= 3:
        return "아주 매운 맛" if korean else "fiery hot"
    return "적당히 칼칼한 맛" if korean else "a pleasant tingle"


def _wallet(budget: int, korean: bool) -> str:
    if budget < TIGHT_BUDGET:
        return "가벼움" if korean else "thin"
    return "넉넉함" if korean else "generous"
