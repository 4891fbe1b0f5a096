"""Guest tokens: signed, expiring, checked by anyone holding the secret."""

from __future__ import annotations

import base64

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.types import PlayerId, PlayerView
from realtime.auth import BadName, BadToken, TokenSigner, new_guest

MINJI = PlayerView(PlayerId("p_minji"), "민지")


def test_a_token_names_its_player() -> None:
    signer = TokenSigner("secret", ttl=60)
    assert signer.verify(signer.issue(MINJI)) == MINJI


def test_an_expired_token_is_refused() -> None:
    signer = TokenSigner("secret", ttl=60)
    token = signer.issue(MINJI, now=1_000)
    assert signer.verify(token, now=1_059) == MINJI
    with pytest.raises(BadToken, match="expired"):
        signer.verify(token, now=1_061)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + "x",
        lambda t: "e30" + t[3:],
        lambda t: t.split(".")[0],
        lambda t: "",
        lambda t: "garbage.garbage",
    ],
)
def test_a_tampered_token_is_refused(mangle: object) -> None:
    signer = TokenSigner("secret", ttl=60)
    with pytest.raises(BadToken):
        signer.verify(mangle(signer.issue(MINJI)))  # type: ignore[operator]


def test_another_secret_cannot_verify() -> None:
    with pytest.raises(BadToken):
        TokenSigner("other", ttl=60).verify(TokenSigner("secret", ttl=60).issue(MINJI))


def test_guest_names_are_cleaned_and_bounded() -> None:
    assert new_guest("  민지\n ").name == "민지"
    assert new_guest("a\u200bb").name == "ab"
    assert new_guest("a" + " " * 20 + "b").name == "a b"  # the visible name is what counts
    first, second = new_guest("Alex"), new_guest("Alex")
    assert first.id != second.id
    for bad in ("", "   ", "\u200b", "x" * 17, None, 5):
        with pytest.raises(BadName):
            new_guest(bad)


@given(st.text(max_size=300))
def test_any_text_as_a_token_is_refused_as_a_bad_token(token: str) -> None:
    with pytest.raises(BadToken):
        TokenSigner("secret", ttl=60).verify(token)


@pytest.mark.parametrize(
    "claims",
    [
        [1, 2, 3],
        {"sub": 5, "name": "민지", "exp": 2**40},
        {"sub": "p_minji", "name": ["민지"], "exp": 2**40},
        {"sub": "p_minji", "name": "민지", "exp": "2099"},
        {"sub": "p_minji", "name": "민지", "exp": True},
        {"sub": "p_minji", "name": "", "exp": 2**40},
        {"sub": "not a player id", "name": "민지", "exp": 2**40},
        {"name": "민지", "exp": 2**40},
    ],
)
def test_signed_claims_of_the_wrong_shape_are_refused(claims: object) -> None:
    signer = TokenSigner("secret", ttl=60)
    payload = base64.urlsafe_b64encode(orjson.dumps(claims)).rstrip(b"=").decode()
    forged_with_the_secret = f"{payload}.{signer._sign(payload)}"
    with pytest.raises(BadToken):
        signer.verify(forged_with_the_secret)


@pytest.mark.parametrize(
    "name",
    [
        "\u3164",  # Hangul filler
        "\u115f\u1160",  # Hangul choseong and jungseong fillers
        "\uffa0\uffa0",  # halfwidth Hangul filler
        "\u2800\u2800\u2800",  # braille pattern blank
        "\ufe0f\ufe0f",  # variation selectors alone
        "\u0301\u0302\u0303",  # combining marks with nothing to sit on
        "\u200b\u3164 \u2800",
    ],
)
def test_names_that_draw_nothing_are_refused(name: str) -> None:
    with pytest.raises(BadName):
        new_guest(name)


def test_names_keep_their_letters_and_lose_invisible_padding_and_mark_towers() -> None:
    assert new_guest("\u3164민지\u3164").name == "민지"
    assert new_guest("e\u0301").name == "é"  # composed: one character
    assert new_guest("Zo\u0308e\u0301").name == "Zöé"
    tower = new_guest("a" + "\u0300\u0301\u0302\u0303\u0304\u0305" * 5 + "b").name
    assert tower == "\u00e0\u0301\u0302b"  # composed, then at most two marks on the letter
    assert new_guest("❤\ufe0f").name == "❤\ufe0f"  # a variation selector on its symbol stays
