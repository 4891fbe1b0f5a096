"""Guest identities and the signed, expiring tokens that carry them.

A token is `payload.signature`, both base64url: the payload is JSON `{sub, name, exp}` and
the signature an HMAC-SHA256 of the payload with the server's secret. Any process holding
the same secret can check a token; none needs to remember it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

import orjson

from protocol.types import NAME_LENGTH, PlayerId, PlayerView, visible_text

MAX_TOKEN = 1024
"""Longer text is no token of ours (one is ~150 characters)."""
PLAYER_ID = re.compile(r"p_[A-Za-z0-9_-]{1,64}")


class BadToken(Exception):
    """The token is malformed, forged or expired."""


class BadName(ValueError):
    """A display name the game cannot use."""


@dataclass(frozen=True, slots=True)
class TokenSigner:
    secret: str
    ttl: float

    def issue(self, player: PlayerView, now: float | None = None) -> str:
        exp = int((time.time() if now is None else now) + self.ttl)
        payload = _b64(orjson.dumps({"sub": player.id, "name": player.name, "exp": exp}))
        return f"{payload}.{self._sign(payload)}"

    def verify(self, token: str, now: float | None = None) -> PlayerView:
        """The player `token` names; `BadToken` for anything else, whatever the text."""
        if len(token) > MAX_TOKEN or not token.isascii():
            raise BadToken("the token is malformed")
        payload, dot, signature = token.partition(".")
        if not dot or not hmac.compare_digest(signature, self._sign(payload)):
            raise BadToken("the token's signature does not match")
        try:
            claims = orjson.loads(_unb64(payload))
        except ValueError:
            raise BadToken("the token's payload is malformed") from None
        sub, name, exp = _claims(claims)
        if exp < (time.time() if now is None else now):
            raise BadToken("the token has expired")
        return PlayerView(PlayerId(sub), name)

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).digest()
        return _b64(digest)


def _claims(claims: object) -> tuple[str, str, int]:
    """`sub`, `name` and `exp` of a signed payload, each of its type, or `BadToken`."""
    if not isinstance(claims, dict):
        raise BadToken("the token's payload is malformed")
    sub, name, exp = claims.get("sub"), claims.get("name"), claims.get("exp")
    if not (isinstance(sub, str) and PLAYER_ID.fullmatch(sub)):
        raise BadToken("the token names no player")
    if not isinstance(name, str) or not 0 < len(name) <= NAME_LENGTH:
        raise BadToken("the token's name is malformed")
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise BadToken("the token's expiry is malformed")
    return sub, name, exp


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_guest(name: object) -> PlayerView:
    """A new guest player, or `BadName` saying what is wrong with the name."""
    if not isinstance(name, str):
        raise BadName("name must be a string")
    cleaned = visible_text(name)
    if not cleaned:
        raise BadName("name must have at least one visible character")
    if len(cleaned) > NAME_LENGTH:
        raise BadName(f"name must be at most {NAME_LENGTH} characters")
    return PlayerView(PlayerId("p_" + secrets.token_urlsafe(12)), cleaned)
