"""Static catalogs of the Maratang game: spice levels, ingredients and customers.

Each round the server picks a customer from ``CUSTOMERS``; players build a bowl from
``INGREDIENTS`` and a level from ``SPICES``; the scoring rules compare the bowl with the
customer's likes, dislikes, craving, spice range and budget. The narrator uses the Korean and
English names, the customers' stories, ``TAG_HINTS`` and ``CATEGORY_NAMES`` to tell the story
without ever naming the raw numbers.

Ingredient and customer ids, tag values and category values are stable wire identifiers: they
travel in protocol messages and are stored in game records. Never rename or reuse one; add a new
entry instead.

This module is pure data: no I/O, no randomness.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import NewType

IngredientId = NewType("IngredientId", str)
"""Lower_snake ASCII slug of an ingredient, e.g. ``"bok_choy"``."""

CustomerId = NewType("CustomerId", str)
"""Lower_snake ASCII slug of a customer, e.g. ``"night_shift_nurse"``."""


class Category(StrEnum):
    """The kind of an ingredient; a bowl touching three or more earns a variety bonus."""

    VEGETABLE = "vegetable"
    MUSHROOM = "mushroom"
    NOODLE = "noodle"
    MEAT = "meat"
    SEAFOOD = "seafood"
    TOFU = "tofu"
    BALL = "ball"  # balls and dumplings


class Tag(StrEnum):
    """A taste or texture an ingredient has and a customer may like, dislike or crave."""

    CHEWY = "chewy"
    CRUNCHY = "crunchy"
    SOFT = "soft"
    RICH = "rich"
    FRESH = "fresh"
    SWEET = "sweet"
    HEARTY = "hearty"
    SLURPY = "slurpy"
    BOUNCY = "bouncy"


@dataclass(frozen=True, slots=True)
class Ingredient:
    """One thing a player can drop into a bowl."""

    id: IngredientId
    name: str  # Korean
    name_en: str  # English
    category: Category
    tags: frozenset[Tag]
    price: int  # won per portion, a multiple of 100


@dataclass(frozen=True, slots=True)
class Customer:
    """Someone who walks into the shop for one round and tastes every bowl."""

    id: CustomerId
    name: str  # Korean
    name_en: str  # English
    story: str  # Korean one-line story: what brings them in tonight
    story_en: str  # English one-line story
    likes: frozenset[Tag]  # 2-3 tags
    dislikes: frozenset[Tag]  # 1-2 tags, disjoint from likes
    craving: Tag | IngredientId  # one tag, or the id of one ingredient in INGREDIENTS
    spice_min: int  # 0..4
    spice_max: int  # spice_min..4
    budget: int  # won, a multiple of 100


@dataclass(frozen=True, slots=True)
class Spice:
    """One spice level a player can pick for a bowl."""

    level: int  # 0..4
    name: str  # Korean
    name_en: str  # English


SPICES: tuple[Spice, ...] = (
    Spice(level=0, name="순한맛", name_en="mild"),
    Spice(level=1, name="신라면맛", name_en="ramyeon hot"),
    Spice(level=2, name="중간맛", name_en="medium"),
    Spice(level=3, name="매운맛", name_en="hot"),
    Spice(level=4, name="불지옥", name_en="fire hell"),
)


INGREDIENTS: tuple[Ingredient, ...] = (
    # Vegetables
    Ingredient(
        id=IngredientId("bok_choy"),
        name="청경채",
        name_en="bok choy",
        category=Category.VEGETABLE,
        tags=frozenset({Tag.FRESH, Tag.CRUNCHY}),
        price=700,
    ),
    Ingredient(
        id=IngredientId("bean_sprouts"),
        name="숙주",
        name_en="bean sprouts",
        category=Category.VEGETABLE,
        tags=frozenset({Tag.CRUNCHY, Tag.FRESH}),
        price=500,
    ),
    Ingredient(
        id=IngredientId("napa_cabbage"),
        name="배추",
        name_en="napa cabbage",
        category=Category.VEGETABLE,
        tags=frozenset({Tag.SWEET, Tag.SOFT, Tag.FRESH}),
        price=600,
    ),
    Ingredient(
        id=IngredientId("lotus_root"),
        name="연근",
        name_en="lotus root",
        category=Category.VEGETABLE,
        tags=frozenset({Tag.CRUNCHY, Tag.SWEET}),
        price=1200,
    ),
    Ingredient(
        id=IngredientId("potato"),
        name="감자",
        name_en="potato",
        category=Category.VEGETABLE,
        tags=frozenset({Tag.SOFT, Tag.HEARTY}),
        price=800,
    ),
    # Mushrooms
    Ingredient(
        id=IngredientId("wood_ear"),
        name="목이버섯",
        name_en="wood ear mushroom",
        category=Category.MUSHROOM,
        tags=frozenset({Tag.CRUNCHY, Tag.CHEWY}),
        price=1000,
    ),
    Ingredient(
        id=IngredientId("enoki"),
        name="팽이버섯",
        name_en="enoki mushroom",
        category=Category.MUSHROOM,
        tags=frozenset({Tag.CHEWY, Tag.FRESH}),
        price=700,
    ),
    Ingredient(
        id=IngredientId("shiitake"),
        name="표고버섯",
        name_en="shiitake mushroom",
        category=Category.MUSHROOM,
        tags=frozenset({Tag.RICH, Tag.SOFT}),
        price=1200,
    ),
    # Noodles
    Ingredient(
        id=IngredientId("bunmoja"),
        name="분모자",
        name_en="bunmoja noodles",
        category=Category.NOODLE,
        tags=frozenset({Tag.CHEWY, Tag.HEARTY}),
        price=1500,
    ),
    Ingredient(
        id=IngredientId("corn_noodles"),
        name="옥수수면",
        name_en="corn noodles",
        category=Category.NOODLE,
        tags=frozenset({Tag.SLURPY, Tag.SWEET}),
        price=1000,
    ),
    Ingredient(
        id=IngredientId("wide_glass_noodles"),
        name="넓적당면",
        name_en="wide glass noodles",
        category=Category.NOODLE,
        tags=frozenset({Tag.SLURPY, Tag.CHEWY}),
        price=1000,
    ),
    # Meat
    Ingredient(
        id=IngredientId("beef"),
        name="소고기",
        name_en="beef",
        category=Category.MEAT,
        tags=frozenset({Tag.RICH, Tag.HEARTY}),
        price=2500,
    ),
    Ingredient(
        id=IngredientId("lamb"),
        name="양고기",
        name_en="lamb",
        category=Category.MEAT,
        tags=frozenset({Tag.RICH, Tag.HEARTY}),
        price=2500,
    ),
    # Seafood
    Ingredient(
        id=IngredientId("shrimp"),
        name="새우",
        name_en="shrimp",
        category=Category.SEAFOOD,
        tags=frozenset({Tag.BOUNCY, Tag.SWEET}),
        price=2000,
    ),
    Ingredient(
        id=IngredientId("crab_sticks"),
        name="꽃게맛살",
        name_en="crab sticks",
        category=Category.SEAFOOD,
        tags=frozenset({Tag.SWEET, Tag.SOFT}),
        price=900,
    ),
    Ingredient(
        id=IngredientId("squid"),
        name="오징어",
        name_en="squid",
        category=Category.SEAFOOD,
        tags=frozenset({Tag.CHEWY, Tag.BOUNCY}),
        price=1600,
    ),
    # Tofu
    Ingredient(
        id=IngredientId("dried_tofu"),
        name="건두부",
        name_en="dried tofu sheets",
        category=Category.TOFU,
        tags=frozenset({Tag.CHEWY, Tag.SLURPY}),
        price=900,
    ),
    Ingredient(
        id=IngredientId("fuzhu"),
        name="푸주",
        name_en="tofu skin sticks",
        category=Category.TOFU,
        tags=frozenset({Tag.CHEWY, Tag.RICH}),
        price=900,
    ),
    Ingredient(
        id=IngredientId("fried_tofu"),
        name="유부",
        name_en="fried tofu puffs",
        category=Category.TOFU,
        tags=frozenset({Tag.SOFT, Tag.RICH}),
        price=700,
    ),
    # Balls and dumplings
    Ingredient(
        id=IngredientId("quail_eggs"),
        name="메추리알",
        name_en="quail eggs",
        category=Category.BALL,
        tags=frozenset({Tag.SOFT, Tag.HEARTY}),
        price=900,
    ),
    Ingredient(
        id=IngredientId("fish_cake"),
        name="어묵",
        name_en="fish cake",
        category=Category.BALL,
        tags=frozenset({Tag.BOUNCY, Tag.CHEWY}),
        price=800,
    ),
    Ingredient(
        id=IngredientId("fish_balls"),
        name="피쉬볼",
        name_en="fish balls",
        category=Category.BALL,
        tags=frozenset({Tag.BOUNCY, Tag.SOFT}),
        price=900,
    ),
    Ingredient(
        id=IngredientId("dumplings"),
        name="만두",
        name_en="dumplings",
        category=Category.BALL,
        tags=frozenset({Tag.HEARTY, Tag.RICH}),
        price=1300,
    ),
    Ingredient(
        id=IngredientId("cheese_tteok"),
        name="치즈떡",
        name_en="cheese rice cakes",
        category=Category.BALL,
        tags=frozenset({Tag.CHEWY, Tag.RICH}),
        price=1200,
    ),
)


CUSTOMERS: tuple[Customer, ...] = (
    Customer(
        id=CustomerId("night_shift_nurse"),
        name="야근한 간호사 지은",
        name_en="Jieun, a nurse off the night shift",
        story="열두 시간 근무를 마치고, 따끈하고 든든한 한 그릇만 생각하며 왔다.",
        story_en="Twelve hours on the ward are over, and all she wants is a warm, filling bowl.",
        likes=frozenset({Tag.HEARTY, Tag.SOFT}),
        dislikes=frozenset({Tag.CRUNCHY}),
        craving=IngredientId("quail_eggs"),
        spice_min=1,
        spice_max=2,
        budget=7000,
    ),
    Customer(
        id=CustomerId("exam_week_student"),
        name="시험 기간 대학생 민수",
        name_en="Minsu, a student in exam week",
        story="도서관에서 막 나왔다. 지갑은 얇아도 면만큼은 넉넉하게 먹고 싶다.",
        story_en="Straight out of the library: his wallet is thin, but he wants plenty of noodles.",
        likes=frozenset({Tag.CHEWY, Tag.SLURPY}),
        dislikes=frozenset({Tag.FRESH}),
        craving=IngredientId("wide_glass_noodles"),
        spice_min=2,
        spice_max=3,
        budget=5000,
    ),
    Customer(
        id=CustomerId("market_grandmother"),
        name="시장 할머니 순자",
        name_en="Grandma Sunja from the market",
        story="손주가 노래를 부르던 빨간 국물이 대체 뭔지 궁금해서 처음 와 봤다.",
        story_en="Her grandson never stops talking about this red soup, so she came to see.",
        likes=frozenset({Tag.SOFT, Tag.SWEET}),
        dislikes=frozenset({Tag.CHEWY}),
        craving=IngredientId("potato"),
        spice_min=0,
        spice_max=1,
        budget=6000,
    ),
    Customer(
        id=CustomerId("kpop_trainee"),
        name="K팝 연습생 하린",
        name_en="Harin, a K-pop trainee",
        story="월말 평가를 앞두고 숙소를 몰래 빠져나왔다. 딱 한 그릇만.",
        story_en="She sneaked out of the dorm before the monthly evaluation. Just one bowl.",
        likes=frozenset({Tag.FRESH, Tag.CRUNCHY}),
        dislikes=frozenset({Tag.RICH, Tag.HEARTY}),
        craving=Tag.CRUNCHY,
        spice_min=1,
        spice_max=3,
        budget=5000,
    ),
    Customer(
        id=CustomerId("food_critic"),
        name="미식 평론가 백 선생",
        name_en="Mr. Baek, a food critic",
        story="수첩을 펼쳐 들었다. 이 집 국물이 소문만큼인지 확인하러 왔다.",
        story_en="Notebook open, he has come to see whether the broth lives up to the rumors.",
        likes=frozenset({Tag.RICH, Tag.FRESH, Tag.BOUNCY}),
        dislikes=frozenset({Tag.SWEET}),
        craving=IngredientId("shiitake"),
        spice_min=2,
        spice_max=3,
        budget=9000,
    ),
    Customer(
        id=CustomerId("overtime_office_worker"),
        name="야근 중인 김 대리",
        name_en="Assistant Manager Kim, working late",
        story="보고서를 또 고쳤다. 오늘 스트레스는 얼얼한 국물로 날려 버릴 생각이다.",
        story_en="The report got rewritten again. Tonight the stress burns off in the broth.",
        likes=frozenset({Tag.RICH, Tag.CHEWY}),
        dislikes=frozenset({Tag.FRESH}),
        craving=Tag.RICH,
        spice_min=3,
        spice_max=4,
        budget=8000,
    ),
    Customer(
        id=CustomerId("spicy_streamer"),
        name="먹방 유튜버 불꽃",
        name_en="Bulkkot, a spicy-food streamer",
        story="카메라를 켜자마자 외친다. 오늘은 불지옥 완식 도전이다!",
        story_en="Camera on, he shouts it out: tonight he finishes a fire-hell bowl!",
        likes=frozenset({Tag.CRUNCHY, Tag.BOUNCY}),
        dislikes=frozenset({Tag.SOFT}),
        craving=IngredientId("squid"),
        spice_min=4,
        spice_max=4,
        budget=7000,
    ),
    Customer(
        id=CustomerId("first_date"),
        name="첫 데이트 중인 준호",
        name_en="Junho, on a first date",
        story="마라탕을 좋아한다는 상대를 따라 난생처음 와 봤다. 실수는 금물이다.",
        story_en="His date loves malatang, so here he is for the very first time. No mistakes.",
        likes=frozenset({Tag.SWEET, Tag.SLURPY}),
        dislikes=frozenset({Tag.RICH}),
        craving=IngredientId("corn_noodles"),
        spice_min=0,
        spice_max=1,
        budget=6000,
    ),
    Customer(
        id=CustomerId("site_foreman"),
        name="공사장 강 반장",
        name_en="Foreman Kang from the building site",
        story="새벽부터 철근을 날랐다. 지금은 머릿속에 고기 생각뿐이다.",
        story_en="He has hauled rebar since dawn, and now all he can think about is meat.",
        likes=frozenset({Tag.HEARTY, Tag.RICH}),
        dislikes=frozenset({Tag.SWEET}),
        craving=IngredientId("lamb"),
        spice_min=2,
        spice_max=4,
        budget=9000,
    ),
    Customer(
        id=CustomerId("birthday_girl"),
        name="일곱 살 생일을 맞은 서아",
        name_en="Seoa, who turns seven today",
        story="생일 선물로 난생처음 마라탕을 먹으러 왔다. 안 맵게 해 달라고 신신당부한다.",
        story_en="Her birthday treat is her very first malatang, and she begs: not spicy, please!",
        likes=frozenset({Tag.SWEET, Tag.BOUNCY, Tag.SOFT}),
        dislikes=frozenset({Tag.CRUNCHY}),
        craving=IngredientId("fish_balls"),
        spice_min=0,
        spice_max=0,
        budget=5000,
    ),
    Customer(
        id=CustomerId("marathon_runner"),
        name="마라톤을 막 끝낸 도윤",
        name_en="Doyun, fresh off a marathon",
        story="42.195킬로미터를 달리고 왔다. 마라톤 다음은 당연히 마라탕이다.",
        story_en="He just ran 42.195 kilometers. After the marathon, naturally, comes malatang.",
        likes=frozenset({Tag.HEARTY, Tag.SLURPY}),
        dislikes=frozenset({Tag.RICH}),
        craving=IngredientId("bunmoja"),
        spice_min=1,
        spice_max=2,
        budget=7000,
    ),
    Customer(
        id=CustomerId("exchange_student"),
        name="교환학생 루카스",
        name_en="Lucas, an exchange student",
        story="한국에 온 지 일주일, 친구들이 꼭 먹어 보라던 마라탕에 도전한다.",
        story_en="One week in Korea, and he is finally trying the malatang his friends swear by.",
        likes=frozenset({Tag.CRUNCHY, Tag.SWEET}),
        dislikes=frozenset({Tag.CHEWY}),
        craving=IngredientId("lotus_root"),
        spice_min=0,
        spice_max=2,
        budget=6000,
    ),
    Customer(
        id=CustomerId("chengdu_chef"),
        name="청두에서 온 왕 셰프",
        name_en="Chef Wang from Chengdu",
        story="고향 맛이 그리워 들렀다. 혀가 얼얼해야 진짜라고 믿는다.",
        story_en="Homesick, he dropped in. It is not the real thing unless the tongue goes numb.",
        likes=frozenset({Tag.RICH, Tag.CRUNCHY, Tag.CHEWY}),
        dislikes=frozenset({Tag.SWEET}),
        craving=IngredientId("wood_ear"),
        spice_min=3,
        spice_max=4,
        budget=8000,
    ),
    Customer(
        id=CustomerId("heartbroken"),
        name="오늘 이별한 수진",
        name_en="Sujin, dumped this afternoon",
        story="눈물 대신 땀을 흘리기로 했다. 제일 매운 걸로 부탁한다.",
        story_en="She has decided to sweat instead of cry. The hotter, the better.",
        likes=frozenset({Tag.CHEWY, Tag.SOFT}),
        dislikes=frozenset({Tag.FRESH}),
        craving=IngredientId("cheese_tteok"),
        spice_min=3,
        spice_max=4,
        budget=7000,
    ),
    Customer(
        id=CustomerId("webtoon_artist"),
        name="마감을 끝낸 웹툰 작가 유나",
        name_en="Yuna, a webtoon artist who just made her deadline",
        story="사흘 밤을 새우고 원고를 넘겼다. 이게 오늘의 첫 끼다.",
        story_en="Three sleepless nights, and the chapter is in. This is her first real meal.",
        likes=frozenset({Tag.SLURPY, Tag.SOFT}),
        dislikes=frozenset({Tag.CRUNCHY}),
        craving=Tag.SLURPY,
        spice_min=2,
        spice_max=4,
        budget=6000,
    ),
    Customer(
        id=CustomerId("gym_coach"),
        name="헬스장 최 관장",
        name_en="Coach Choi, the gym owner",
        story="오늘은 단백질 먹는 날이다. 국물은 남겨도 건더기는 안 남긴다.",
        story_en="It is protein day. He might leave the broth, but never a single bite.",
        likes=frozenset({Tag.HEARTY, Tag.BOUNCY, Tag.RICH}),
        dislikes=frozenset({Tag.SLURPY}),
        craving=IngredientId("shrimp"),
        spice_min=2,
        spice_max=3,
        budget=9000,
    ),
)


INGREDIENTS_BY_ID: dict[IngredientId, Ingredient] = {
    ingredient.id: ingredient for ingredient in INGREDIENTS
}

CUSTOMERS_BY_ID: dict[CustomerId, Customer] = {customer.id: customer for customer in CUSTOMERS}


TAG_HINTS: dict[Tag, tuple[str, str]] = {
    Tag.CHEWY: ("쫄깃쫄깃 씹히는 맛", "something with a good chew"),
    Tag.CRUNCHY: ("아삭아삭 씹히는 소리", "a satisfying crunch"),
    Tag.SOFT: ("입안에서 사르르 풀어지는 부드러움", "something soft that melts in the mouth"),
    Tag.RICH: ("진하고 묵직한 감칠맛", "a deep, rich savoriness"),
    Tag.FRESH: ("산뜻하고 싱그러운 채소 맛", "something fresh and green"),
    Tag.SWEET: ("은은하게 달큰한 맛", "a gentle sweetness"),
    Tag.HEARTY: ("속이 든든하게 차오르는 느낌", "something filling and hearty"),
    Tag.SLURPY: ("후루룩 넘어가는 기다란 면발", "something long to slurp"),
    Tag.BOUNCY: ("탱글탱글 튀어 오르는 식감", "a springy, bouncy bite"),
}


CATEGORY_NAMES: dict[Category, tuple[str, str]] = {
    Category.VEGETABLE: ("채소", "vegetables"),
    Category.MUSHROOM: ("버섯", "mushrooms"),
    Category.NOODLE: ("면", "noodles"),
    Category.MEAT: ("고기", "meat"),
    Category.SEAFOOD: ("해산물", "seafood"),
    Category.TOFU: ("두부", "tofu"),
    Category.BALL: ("완자와 만두", "balls and dumplings"),
}


def is_ingredient(value: str) -> bool:
    """Return True if ``value`` is the id of an ingredient in ``INGREDIENTS``."""
    return value in INGREDIENTS_BY_ID
