"""Guest tokens: signed, expiring, checked by anyone holding the secret."""

from __future__ import annotations

import pytest

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
