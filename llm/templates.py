"""The fallback narrator's words: Korean and English templates that tell a round's facts.

They tell the same facts a model would: the customer's entrance as hints (never the raw
numbers), the tasting worst to best with each player named, the round's winner crowned,
and the final standings. Like the model, they name players and tell scores by placeholders
(`llm.placeholders`), which the hub fills in as it relays the text.
"""

from __future__ import annotations

from game.catalog import INGREDIENTS_BY_ID, SPICES, TAG_HINTS, Customer, IngredientId, Tag
from llm.facts import NarrationFacts, Standing, Tasting
from llm.placeholders import placeholder

TIGHT_BUDGET = 6000


def josa(word: str, with_final: str, without_final: str) -> str:
    """The Korean particle that fits after `word` (이/가, 은/는, 을/를, 과/와)."""
    last = word.rstrip()[-1:] or " "
    if not "가" <= last <= "힣":
        return f"({with_final}){without_final}" if with_final != "이" else "(이)가"
    return with_final if (ord(last) - ord("가")) % 28 else without_final


SCENE = {"entrance": 2, "tasting": 1, "finale": 1}
"""How many opening sentences of each kind only set the scene (a recap leaves them out)."""


def tell(facts: NarrationFacts) -> str:
    """The whole narration for these facts, in the table's language."""
    return " ".join(_sentences(facts))


def recap(facts: NarrationFacts) -> str:
    """The sentences that carry the facts (hints, scores, places), without the scene: what is
    worth telling after another narrator stopped part-way."""
    return " ".join(_sentences(facts)[SCENE[facts.kind] :])


def _sentences(facts: NarrationFacts) -> list[str]:
    korean = facts.lang == "ko"
    if facts.kind == "entrance":
        return _entrance_ko(facts) if korean else _entrance_en(facts)
    if facts.kind == "tasting":
        return _tasting_ko(facts) if korean else _tasting_en(facts)
    return _finale_ko(facts.standings) if korean else _finale_en(facts.standings)


def _customer(facts: NarrationFacts) -> Customer:
    if facts.customer is None:
        raise ValueError(f"narration {facts.nid} has no customer")
    return facts.customer


def _hint(tag: Tag, korean: bool) -> str:
    ko, en = TAG_HINTS[tag]
    return ko if korean else en


def _craving(customer: Customer, korean: bool) -> str:
    if customer.craving in INGREDIENTS_BY_ID:
        item = INGREDIENTS_BY_ID[IngredientId(customer.craving)]
        if korean:
            return f"무엇보다 {item.name} 생각이 간절하대요."
        return f"Above all, they can't stop thinking about {item.name_en}."
    hint = _hint(Tag(customer.craving), korean)
    return (
        f"무엇보다 {hint}{josa(hint, '을', '를')} 애타게 찾고 있어요."
        if korean
        else (f"Above all, they are hunting for {hint}.")
    )


ORDINALS_KO = ("첫", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉", "열")


def _ordinal_ko(number: int) -> str:
    return ORDINALS_KO[number - 1] if 0 < number <= len(ORDINALS_KO) else str(number)


def _entrance_ko(facts: NarrationFacts) -> list[str]:
    c = _customer(facts)
    likes = [_hint(t, True) for t in sorted(c.likes)]
    dislike = _hint(sorted(c.dislikes)[0], True)
    if c.spice_max <= 1:
        spice = "매운 건 자신 없다며 손사래를 칩니다."
    elif c.spice_min >= 3:
        spice = "입에서 불이 나야 먹은 것 같다고 하네요."
    else:
        spice = "적당히 칼칼하면 좋겠다고 해요."
    wallet = (
        "지갑이 조금 가벼워 보입니다."
        if c.budget < TIGHT_BUDGET
        else "오늘은 지갑이 넉넉해 보여요."
    )
    liked = "과 ".join(likes) if len(likes) > 1 else likes[0]
    return [
        f"딸랑, 문이 열리고 {c.name}{josa(c.name, '이', '가')} 들어옵니다.",
        c.story,
        f"오늘은 {liked}{josa(liked, '이', '가')} 당기는 눈치예요.",
        f"다만 {dislike}{josa(dislike, '은', '는')} 질색이래요.",
        _craving(c, True),
        spice,
        wallet,
        f"{_ordinal_ko(facts.round)} 번째 손님을 위한 한 그릇, 시작해 볼까요?",
    ]


def _entrance_en(facts: NarrationFacts) -> list[str]:
    c = _customer(facts)
    likes = " and ".join(_hint(t, False) for t in sorted(c.likes))
    dislike = _hint(sorted(c.dislikes)[0], False)
    if c.spice_max <= 1:
        spice = "They wave their hands at anything spicy."
    elif c.spice_min >= 3:
        spice = "It only counts as dinner if their mouth is on fire."
    else:
        spice = "A pleasant tingle of heat would be just right."
    wallet = (
        "Their wallet looks a little thin."
        if c.budget < TIGHT_BUDGET
        else ("Tonight their wallet looks generous.")
    )
    return [
        f"The bell jingles and {c.name_en} walks in.",
        c.story_en,
        f"Tonight they seem to want {likes}.",
        f"But {dislike} is the last thing they want.",
        _craving(c, False),
        spice,
        wallet,
        f"Customer number {facts.round} is waiting. Let's cook!",
    ]


REACTIONS_KO = (
    (30, "한 입 먹고 조용히 물을 찾습니다."),
    (50, "고개를 갸웃거립니다."),
    (70, "괜찮다며 고개를 끄덕입니다."),
    (85, "눈이 반짝입니다!"),
    (101, "숟가락을 멈추지 못합니다!"),
)
REACTIONS_EN = (
    (30, "takes one bite and quietly reaches for water."),
    (50, "tilts their head, unsure."),
    (70, "nods: not bad at all."),
    (85, "lights up!"),
    (101, "cannot put the spoon down!"),
)


VERDICTS_KO = ("별로", "애매함", "괜찮음", "맛있음", "최고")
VERDICTS_EN = ("poor", "unsure", "fine", "delicious", "superb")
"""How a score lands with the customer, one word per band of `REACTIONS_KO`: what the model is
told instead of the score."""


def _reaction(score: int, table: tuple[tuple[int, str], ...]) -> str:
    return next(text for limit, text in table if score < limit)


def verdict(score: int, korean: bool) -> str:
    """The customer's verdict on a bowl of `score`, in a word."""
    band = next(i for i, (limit, _) in enumerate(REACTIONS_KO) if score < limit)
    return (VERDICTS_KO if korean else VERDICTS_EN)[band]


def _tasting_ko(facts: NarrationFacts) -> list[str]:
    c = _customer(facts)
    lines = [f"{c.name}{josa(c.name, '이', '가')} 숟가락을 듭니다."]
    for t in reversed(facts.tastings):
        lines.append(_taste_ko(t, c))
    if facts.tastings:
        winner = facts.tastings[0]
        lines.append(f"이번 라운드의 승자는 {winner.name}님! {_score(winner)}점으로 왕관을 씁니다.")
    return lines


def _taste_ko(t: Tasting, c: Customer) -> str:
    if not t.ingredients:
        return f"{t.name}님의 자리는 비어 있네요. 그릇이 없으니 0점입니다."
    items = ", ".join(i.name for i in t.ingredients)
    reaction = _reaction(t.score, REACTIONS_KO)
    return f"{t.name}님의 {SPICES[t.spice].name} 그릇, {items}. {c.name}, {reaction} {_score(t)}점!"


def _tasting_en(facts: NarrationFacts) -> list[str]:
    c = _customer(facts)
    lines = [f"{c.name_en} picks up the spoon."]
    for t in reversed(facts.tastings):
        lines.append(_taste_en(t, c))
    if facts.tastings:
        winner = facts.tastings[0]
        lines.append(f"This round goes to {winner.name}, crowned with {_score(winner)} points!")
    return lines


def _taste_en(t: Tasting, c: Customer) -> str:
    if not t.ingredients:
        return f"{t.name}'s seat is empty: no bowl, no points."
    items = ", ".join(i.name_en for i in t.ingredients)
    reaction = _reaction(t.score, REACTIONS_EN)
    spice = SPICES[t.spice].name_en
    return f"{t.name}'s {spice} bowl of {items}: the customer {reaction} {_score(t)} points!"


def _score(t: Tasting) -> str:
    return placeholder("S", t.who)


def _total(s: Standing) -> str:
    return placeholder("T", s.who)


def _place(s: Standing) -> str:
    return placeholder("R", s.who)


def _split_winners(standings: tuple[Standing, ...]) -> tuple[str, str, bool, list[Standing]]:
    """The winners' names, their total, whether they tied, and everyone else."""
    winners = [s for s in standings if s.place == 1]
    rest = [s for s in standings if s.place != 1]
    return ", ".join(s.name for s in winners), _total(winners[0]), len(winners) > 1, rest


def _finale_ko(standings: tuple[Standing, ...]) -> list[str]:
    if not standings:
        return ["오늘 영업은 여기까지입니다."]
    names, total, tied, rest = _split_winners(standings)
    title = "공동 1위 셰프는" if tied else "최고 셰프는"
    return [
        "마지막 손님까지 배웅했습니다.",
        f"오늘의 {title} {names}님, 총 {total}점!",
        *(f"{_place(s)}위 {s.name}님, {_total(s)}점." for s in rest),
        "모두 수고하셨어요. 또 놀러 오세요!",
    ]


def _finale_en(standings: tuple[Standing, ...]) -> list[str]:
    if not standings:
        return ["That's all for tonight."]
    names, total, tied, rest = _split_winners(standings)
    title = "top chefs, tied, are" if tied else "top chef is"
    return [
        "The last customer has gone home.",
        f"Tonight's {title} {names}, with {total} points!",
        *(f"Place {_place(s)}: {s.name}, {_total(s)} points." for s in rest),
        "Thanks for cooking. Come back soon!",
    ]
