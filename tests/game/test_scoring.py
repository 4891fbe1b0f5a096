"""Each scoring rule, table-driven, against a customer and ingredients made for the test."""

from __future__ import annotations

from dataclasses import replace

import pytest

from game.catalog import Category, Customer, CustomerId, Ingredient, IngredientId, Tag
from game.scoring import (
    BASE,
    Plate,
    budget,
    craving,
    dislikes,
    likes,
    score,
    spice,
    variety,
)


def item(name: str, category: Category, *tags: Tag, price: int = 1000) -> Ingredient:
    return Ingredient(IngredientId(name), name, name, category, frozenset(tags), price)


NOODLE = item("noodle", Category.NOODLE, Tag.CHEWY, Tag.SLURPY)
CABBAGE = item("cabbage", Category.VEGETABLE, Tag.FRESH, Tag.CRUNCHY)
BEEF = item("beef", Category.MEAT, Tag.RICH, price=2500)
TOFU = item("tofu", Category.TOFU, Tag.SOFT)
MUSHROOM = item("mushroom", Category.MUSHROOM, Tag.SOFT)

GUEST = Customer(
    id=CustomerId("guest"),
    name="손님",
    name_en="guest",
    story="",
    story_en="",
    likes=frozenset({Tag.CHEWY, Tag.RICH}),
    dislikes=frozenset({Tag.CRUNCHY}),
    craving=IngredientId("tofu"),
    spice_min=1,
    spice_max=2,
    budget=4000,
)


def plate(*items: Ingredient, heat: int = 1) -> Plate:
    return Plate(items, heat)


@pytest.mark.parametrize(
    ("bowl", "points"),
    [
        (plate(TOFU, MUSHROOM), 0),
        (plate(NOODLE, TOFU), 8),
        (plate(NOODLE, BEEF), 16),
    ],
)
def test_each_liked_tag_covered_adds_eight(bowl: Plate, points: int) -> None:
    assert likes(bowl, GUEST) == points


@pytest.mark.parametrize(("bowl", "points"), [(plate(TOFU, BEEF), 0), (plate(CABBAGE, BEEF), -10)])
def test_each_disliked_tag_touched_takes_ten(bowl: Plate, points: int) -> None:
    assert dislikes(bowl, GUEST) == points


@pytest.mark.parametrize(
    ("wanted", "bowl", "points"),
    [
        (IngredientId("tofu"), plate(TOFU, BEEF), 15),
        (IngredientId("tofu"), plate(MUSHROOM, BEEF), 0),
        (Tag.SLURPY, plate(NOODLE, BEEF), 15),
        (Tag.SLURPY, plate(TOFU, BEEF), 0),
    ],
)
def test_the_craving_adds_fifteen_as_ingredient_or_tag(
    wanted: Tag | IngredientId, bowl: Plate, points: int
) -> None:
    customer = replace(GUEST, craving=wanted)
    assert craving(bowl, customer) == points


@pytest.mark.parametrize(("heat", "points"), [(0, -12), (1, 10), (2, 10), (3, -12), (4, -24)])
def test_spice_in_range_adds_ten_and_each_level_outside_takes_twelve(
    heat: int, points: int
) -> None:
    assert spice(plate(TOFU, heat=heat), GUEST) == points


@pytest.mark.parametrize(
    ("bowl", "points"),
    [
        (plate(TOFU, MUSHROOM, NOODLE), 0),  # 3000 of 4000
        (plate(TOFU, MUSHROOM, NOODLE, CABBAGE), 0),  # exactly 4000
        (plate(TOFU, BEEF, NOODLE), -2 * 5),  # 4500: 500 over
    ],
)
def test_each_hundred_won_over_budget_takes_two(bowl: Plate, points: int) -> None:
    assert budget(bowl, GUEST) == points


@pytest.mark.parametrize(
    ("bowl", "points"),
    [(plate(TOFU, MUSHROOM), 0), (plate(TOFU, MUSHROOM, NOODLE), 5), (plate(TOFU, TOFU), 0)],
)
def test_three_or_more_categories_add_five(bowl: Plate, points: int) -> None:
    assert variety(bowl, GUEST) == points


def test_the_breakdown_adds_up_to_the_score() -> None:
    total, breakdown = score(plate(NOODLE, BEEF, TOFU, heat=2), GUEST)
    # likes 16, craving 15, spice 10, variety 5, budget: 4500 → −10
    assert total == BASE + 16 + 15 + 10 + 5 - 10
    assert sum(p.points for p in breakdown) == total
    assert [p.rule for p in breakdown] == ["base", "likes", "craving", "spice", "budget", "variety"]


def test_scores_are_clamped_to_zero_and_a_clamp_line_keeps_the_sum() -> None:
    hater = replace(
        GUEST, dislikes=frozenset({Tag.SOFT, Tag.CRUNCHY}), likes=frozenset({Tag.SWEET}), budget=100
    )
    total, breakdown = score(plate(TOFU, CABBAGE, MUSHROOM, heat=4), hater)
    assert total == 0
    assert breakdown[-1].rule == "clamp"
    assert sum(p.points for p in breakdown) == 0


def test_scores_are_clamped_to_a_hundred() -> None:
    fan = replace(GUEST, likes=frozenset(Tag), dislikes=frozenset(), budget=100_000)
    total, breakdown = score(plate(NOODLE, BEEF, TOFU, CABBAGE, heat=1), fan)
    assert total == 100
    assert sum(p.points for p in breakdown) == 100
