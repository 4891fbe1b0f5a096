"""Invariants of the static game catalogs in ``game.catalog``."""

import re

from game.catalog import (
    CATEGORY_NAMES,
    CUSTOMERS,
    CUSTOMERS_BY_ID,
    INGREDIENTS,
    INGREDIENTS_BY_ID,
    SPICES,
    TAG_HINTS,
    Category,
    Customer,
    Ingredient,
    IngredientId,
    Tag,
    is_ingredient,
)

SLUG = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def has_hangul(text: str) -> bool:
    return HANGUL.search(text) is not None


def fitting_ingredients(customer: Customer) -> list[Ingredient]:
    """Ingredients that touch none of the customer's disliked tags, cheapest first."""
    fitting = [i for i in INGREDIENTS if not (i.tags & customer.dislikes)]
    return sorted(fitting, key=lambda i: (i.price, i.id))


def sensible_bowl(customer: Customer, size: int) -> list[Ingredient]:
    """A cheap bowl a thoughtful player might build: craving, each liked tag, then fillers."""
    fitting = fitting_ingredients(customer)
    bowl: list[Ingredient] = []
    if isinstance(customer.craving, Tag):
        wanted = [customer.craving, *sorted(customer.likes)]
    else:
        bowl.append(INGREDIENTS_BY_ID[customer.craving])
        wanted = sorted(customer.likes)
    for tag in wanted:
        if not any(tag in i.tags for i in bowl):
            bowl.append(next(i for i in fitting if tag in i.tags))
    for ingredient in fitting:
        if len(bowl) >= size:
            break
        if ingredient not in bowl:
            bowl.append(ingredient)
    return bowl


def test_spices_are_five_levels_from_mild_to_fire_hell() -> None:
    assert [spice.level for spice in SPICES] == [0, 1, 2, 3, 4]
    assert SPICES[0].name == "순한맛"
    assert SPICES[2].name == "중간맛"
    assert SPICES[3].name == "매운맛"
    assert SPICES[4].name == "불지옥"
    assert SPICES[4].name_en == "fire hell"


def test_catalogs_have_the_documented_sizes() -> None:
    assert len(INGREDIENTS) == 24
    assert len(CUSTOMERS) == 16


def test_ingredient_ids_are_unique_slugs() -> None:
    ids = [ingredient.id for ingredient in INGREDIENTS]
    assert len(set(ids)) == len(ids)
    for ingredient_id in ids:
        assert SLUG.match(ingredient_id), ingredient_id


def test_customer_ids_are_unique_slugs() -> None:
    ids = [customer.id for customer in CUSTOMERS]
    assert len(set(ids)) == len(ids)
    for customer_id in ids:
        assert SLUG.match(customer_id), customer_id


def test_ingredient_ids_never_collide_with_tag_values() -> None:
    tag_values = {str(tag) for tag in Tag}
    assert not tag_values & {str(ingredient.id) for ingredient in INGREDIENTS}


def test_lookup_dicts_match_the_tuples() -> None:
    assert list(INGREDIENTS_BY_ID.values()) == list(INGREDIENTS)
    assert list(CUSTOMERS_BY_ID.values()) == list(CUSTOMERS)
    for ingredient in INGREDIENTS:
        assert INGREDIENTS_BY_ID[ingredient.id] is ingredient
    for customer in CUSTOMERS:
        assert CUSTOMERS_BY_ID[customer.id] is customer


def test_the_required_ingredients_are_on_the_menu() -> None:
    names = {ingredient.name for ingredient in INGREDIENTS}
    required = {
        "청경채",
        "숙주",
        "목이버섯",
        "팽이버섯",
        "분모자",
        "옥수수면",
        "넓적당면",
        "소고기",
        "양고기",
        "새우",
        "건두부",
        "푸주",
        "메추리알",
        "어묵",
        "피쉬볼",
        "만두",
    }
    assert required <= names
    assert len(names) == len(INGREDIENTS)


def test_every_category_has_at_least_two_ingredients() -> None:
    for category in Category:
        count = sum(1 for ingredient in INGREDIENTS if ingredient.category is category)
        assert count >= 2, category


def test_every_tag_is_carried_by_at_least_two_ingredients() -> None:
    for tag in Tag:
        count = sum(1 for ingredient in INGREDIENTS if tag in ingredient.tags)
        assert count >= 2, tag


def test_ingredients_have_tags_and_sensible_prices() -> None:
    for ingredient in INGREDIENTS:
        assert 1 <= len(ingredient.tags) <= 3, ingredient.id
        assert 300 <= ingredient.price <= 2500, ingredient.id
        assert ingredient.price % 100 == 0, ingredient.id


def test_tags_are_plausible_for_well_known_ingredients() -> None:
    assert Tag.CRUNCHY in INGREDIENTS_BY_ID[IngredientId("lotus_root")].tags
    assert Tag.CHEWY in INGREDIENTS_BY_ID[IngredientId("bunmoja")].tags
    assert Tag.RICH in INGREDIENTS_BY_ID[IngredientId("beef")].tags
    assert Tag.BOUNCY in INGREDIENTS_BY_ID[IngredientId("shrimp")].tags
    assert Tag.FRESH in INGREDIENTS_BY_ID[IngredientId("bok_choy")].tags


def test_every_tag_has_a_korean_and_english_hint() -> None:
    assert set(TAG_HINTS) == set(Tag)
    for tag, (hint_ko, hint_en) in TAG_HINTS.items():
        assert has_hangul(hint_ko), tag
        assert hint_en.isascii(), tag
        assert hint_en.strip() == hint_en != "", tag


def test_every_category_has_a_korean_and_english_name() -> None:
    assert set(CATEGORY_NAMES) == set(Category)
    for category, (name_ko, name_en) in CATEGORY_NAMES.items():
        assert has_hangul(name_ko), category
        assert name_en.isascii(), category
        assert name_en != "", category


def test_korean_names_have_hangul_and_english_names_are_ascii() -> None:
    for spice in SPICES:
        assert has_hangul(spice.name), spice.level
        assert spice.name_en.isascii(), spice.level
        assert spice.name_en != "", spice.level
    for ingredient in INGREDIENTS:
        assert has_hangul(ingredient.name), ingredient.id
        assert ingredient.name_en.isascii(), ingredient.id
        assert ingredient.name_en != "", ingredient.id
    for customer in CUSTOMERS:
        assert has_hangul(customer.name), customer.id
        assert customer.name_en.isascii(), customer.id
        assert customer.name_en != "", customer.id


def test_customer_stories_are_single_lines_in_both_languages() -> None:
    for customer in CUSTOMERS:
        assert has_hangul(customer.story), customer.id
        assert customer.story_en.isascii(), customer.id
        assert customer.story_en != "", customer.id
        assert "\n" not in customer.story, customer.id
        assert "\n" not in customer.story_en, customer.id


def test_customer_likes_and_dislikes_are_small_and_disjoint() -> None:
    for customer in CUSTOMERS:
        assert 2 <= len(customer.likes) <= 3, customer.id
        assert 1 <= len(customer.dislikes) <= 2, customer.id
        assert not customer.likes & customer.dislikes, customer.id


def test_customer_craving_is_a_tag_or_a_real_ingredient() -> None:
    for customer in CUSTOMERS:
        craving = customer.craving
        if isinstance(craving, Tag):
            assert craving in set(Tag), customer.id
            assert craving not in customer.dislikes, customer.id
        else:
            assert craving in INGREDIENTS_BY_ID, customer.id
            assert not INGREDIENTS_BY_ID[craving].tags & customer.dislikes, customer.id


def test_customer_spice_ranges_are_valid_and_varied() -> None:
    for customer in CUSTOMERS:
        assert 0 <= customer.spice_min <= customer.spice_max <= 4, customer.id
    assert any(customer.spice_max <= 1 for customer in CUSTOMERS)
    assert any(customer.spice_min >= 3 for customer in CUSTOMERS)
    assert {customer.spice_min for customer in CUSTOMERS} == {0, 1, 2, 3, 4}
    assert {customer.spice_max for customer in CUSTOMERS} == {0, 1, 2, 3, 4}


def test_customer_budgets_are_positive_round_amounts() -> None:
    for customer in CUSTOMERS:
        assert customer.budget > 0, customer.id
        assert 3000 <= customer.budget <= 9000, customer.id
        assert customer.budget % 100 == 0, customer.id


def test_every_liked_tag_has_an_ingredient_the_customer_does_not_mind() -> None:
    for customer in CUSTOMERS:
        fitting = fitting_ingredients(customer)
        assert len(fitting) >= 6, customer.id
        for tag in customer.likes:
            assert any(tag in ingredient.tags for ingredient in fitting), (customer.id, tag)


def test_a_sensible_five_ingredient_bowl_fits_every_budget() -> None:
    for customer in CUSTOMERS:
        bowl = sensible_bowl(customer, size=5)
        assert len(bowl) == 5, customer.id
        assert len({ingredient.id for ingredient in bowl}) == 5, customer.id
        assert sum(ingredient.price for ingredient in bowl) <= customer.budget, customer.id


def test_is_ingredient_recognises_only_ingredient_ids() -> None:
    for ingredient in INGREDIENTS:
        assert is_ingredient(ingredient.id)
    assert not is_ingredient("chewy")
    assert not is_ingredient("청경채")
    assert not is_ingredient("")
    assert not is_ingredient("night_shift_nurse")
