"""What the vLLM simulator says: a short narration in Korean or English that uses the
placeholders it finds in the request's facts (players, scores, places), so a game narrated by
it reads like one, as a model would: copied into its text, cut across chunks like any word.

For tests of the hub's checks it can also misbehave on purpose: say a given text part-way
(`say`, after `say_after` tokens), or leave one bowl out of a tasting (`skip_bowl`)."""

from __future__ import annotations

import random
import re
from typing import Any

import orjson

from llm.fallback import tokens

OPENINGS_KO = (
    "김이 모락모락 피어오르는 주방에 {customer}의 목소리가 울립니다.",
    "{customer}, 오늘따라 유난히 배가 고파 보이네요.",
    "가게 안에 얼얼한 향이 퍼지자 {customer}의 눈이 커집니다.",
)
OPENINGS_EN = (
    "Steam curls over the counter as {customer} speaks up.",
    "{customer} looks especially hungry tonight.",
    "The numbing scent fills the shop and {customer}'s eyes go wide.",
)
FILLERS_KO = (
    "국물 한 숟가락에 하루의 피로가 녹아내립니다.",
    "주방 어딘가에서 청경채가 웃음을 참고 있어요.",
    "창밖으로 비가 내리기 시작했지만 가게 안은 따뜻합니다.",
    "마라 향이 코끝을 간질이며 다음 이야기를 재촉해요.",
    "누군가의 배에서 꼬르륵 소리가 크게 울립니다.",
    "손님은 잠시 눈을 감고 그릇의 온기를 느낍니다.",
)
FILLERS_EN = (
    "One spoonful of broth melts the whole day away.",
    "Somewhere in the kitchen a bok choy is trying not to laugh.",
    "Rain starts outside, but the shop stays warm.",
    "The mala scent tickles everyone's nose and hurries the story on.",
    "Someone's stomach growls loudly.",
    "The customer closes their eyes and feels the bowl's warmth.",
)


def narration(
    prompt: str,
    korean: bool,
    want: int,
    seed: int,
    say: str = "",
    say_after: int = 0,
    skip_bowl: int = 0,
) -> list[str]:
    """About `want` tokens of narration for a request whose last user message is `prompt`:
    with `say` told after `say_after` tokens, and bowl `skip_bowl` (1: the best) left out."""
    rng = random.Random(seed)
    facts = _facts_in(prompt)
    customer = str(facts.get("customer", {}).get("name") or ("손님" if korean else "The guest"))
    sentences = [rng.choice(OPENINGS_KO if korean else OPENINGS_EN).format(customer=customer)]
    sentences += _scores(facts, korean, skip_bowl)
    fillers = FILLERS_KO if korean else FILLERS_EN
    out = _said(" ".join(sentences), rng)
    while len(out) < want:
        out += tokens(" " + rng.choice(fillers))
    if say:
        out[say_after:say_after] = tokens(f" {say} ")
    return out


_PLACEHOLDER = re.compile(r"(⟨[A-Z]\d{1,2}⟩)")


def _said(text: str, rng: random.Random) -> list[str]:
    """`text` in model-sized pieces, each placeholder cut wherever a tokenizer might cut it:
    whole, or between any of its characters (`⟨`, `P`, `1`, `⟩`), as `rng` picks."""
    out: list[str] = []
    for n, part in enumerate(_PLACEHOLDER.split(text)):
        if n % 2 == 0:
            out += tokens(part)
            continue
        piece = part[0]
        for char in part[1:]:
            if rng.random() < 0.5:
                out.append(piece)
                piece = ""
            piece += char
        out.append(piece)
    return out


def _facts_in(prompt: str) -> dict[str, Any]:
    start = prompt.find("{")
    if start < 0:
        return {}
    try:
        found = orjson.loads(prompt[start:])
    except orjson.JSONDecodeError:
        return {}
    return found if isinstance(found, dict) else {}


def _scores(facts: dict[str, Any], korean: bool, skip_bowl: int) -> list[str]:
    lines = []
    bowls = list(facts.get("bowls_best_first") or [])
    if 0 < skip_bowl <= len(bowls):
        del bowls[skip_bowl - 1]
    for bowl in reversed(bowls):
        if isinstance(bowl, dict):
            name, score = bowl.get("player"), bowl.get("score")
            lines.append(f"{name}님의 그릇은 {score}점!" if korean else f"{name}: {score} points!")
    winners = ", ".join(str(w) for w in facts.get("winner") or [])
    if winners:
        lines.append(f"이번 라운드의 승자는 {winners}님!" if korean else f"The winner: {winners}!")
    for entry in facts.get("standings") or []:
        if isinstance(entry, dict):
            name, place, total = entry.get("player"), entry.get("place"), entry.get("total")
            lines.append(
                f"{place}위 {name}님, 총 {total}점." if korean else f"#{place} {name}, {total}."
            )
    return lines
