"""Signed tokens: `django.core.signing` payloads (HMAC, a salt per purpose, a timestamp), so a forged
or tampered token fails the signature and an old one fails `max_age`.

The key: `TAILOR["SIGNING_KEY"]` when set (a key of Tailor's own, so rotating it does not log editors
out), else Django's SECRET_KEY. Rotation: put the old key in `TAILOR["SIGNING_KEY_FALLBACKS"]` (or, with
no SIGNING_KEY, Django's SECRET_KEY_FALLBACKS): tokens signed with it keep verifying, new ones are signed
with the new key; drop it once TOKEN_MAX_AGE / VISITOR_TOKEN_MAX_AGE have passed.

The visitor token lives here because both `rules` (consent, profiles) and `variants` (decisions,
events) read it; decision tokens, which carry a decision, are built on `load` in `variants.tokens`.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any

from django.conf import settings as django_settings
from django.core import signing

from tailor.settings import tailor_settings

VISITOR_SALT = "tailor.visitor"
MAX_TOKEN_LENGTH = 4096
#: how many verified tokens with a plain-string payload (visitor tokens) a process remembers
VERIFIED_CACHE_SIZE = 10_000
#: ... and with a structured payload (decision tokens, read by the rate limit and then by recording)
VERIFIED_RECENT_SIZE = 256


class TokenError(ValueError):
    """A token that cannot be used; `code` is forged, expired or malformed."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def signing_key() -> str | None:
    """The key new tokens are signed with (None: Django's SECRET_KEY)."""
    return tailor_settings.SIGNING_KEY or None


def fallback_keys() -> list[str]:
    """Older keys still accepted: SIGNING_KEY_FALLBACKS, and with no SIGNING_KEY of Tailor's own, also
    Django's SECRET_KEY_FALLBACKS (while moving from SECRET_KEY to a SIGNING_KEY, list the SECRET_KEY
    in SIGNING_KEY_FALLBACKS)."""
    keys = list(tailor_settings.SIGNING_KEY_FALLBACKS or ())
    if not tailor_settings.SIGNING_KEY:
        keys += list(getattr(django_settings, "SECRET_KEY_FALLBACKS", ()) or ())
    return keys


def dump(payload: Any, salt: str, *, compress: bool = False) -> str:
    return signing.dumps(payload, key=signing_key(), salt=salt, compress=compress)


class _Verified:
    """Tokens whose signature this process has checked, with their payload and signing time: a
    returning visitor sends the same visitor token on every request, and its HMAC is checked once.
    Payloads are kept as strings (a structured one as its JSON, parsed again on each use: nothing
    mutable is shared), keyed by the keys they were checked with, so a changed key or fallback list
    checks again. A forged token never gets in."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[tuple, tuple[str, int]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple) -> tuple[str, int] | None:
        with self.lock:
            hit = self.entries.get(key)
            if hit is not None:
                self.entries.move_to_end(key)
            return hit

    def put(self, key: tuple, value: tuple[str, int]) -> None:
        with self.lock:
            self.entries[key] = value
            if len(self.entries) > self.size:
                self.entries.popitem(last=False)


_verified = _Verified(VERIFIED_CACHE_SIZE)
#: decision tokens are mostly read once or twice in one request: a short memory of its own, so they
#: never push returning visitors' tokens out
_recent = _Verified(VERIFIED_RECENT_SIZE)


def _unsign(token: str, salt: str) -> tuple[Any, int]:
    """The payload and the signing time (epoch seconds) of a token whose signature holds."""
    key, fallbacks = signing_key(), fallback_keys()
    cache_key = (salt, token, key, tuple(fallbacks))
    if (hit := _verified.get(cache_key)) is not None:
        return hit
    if (hit := _recent.get(cache_key)) is not None:
        return json.loads(hit[0]), hit[1]
    payload = signing.TimestampSigner(key=key, fallback_keys=fallbacks, salt=salt).unsign_object(token)
    # "payload:timestamp:signature": the signature just checked covers the timestamp
    signed_at = signing.b62_decode(token.rsplit(":", 2)[1])
    if isinstance(payload, str):
        _verified.put(cache_key, (payload, signed_at))
    else:
        _recent.put(cache_key, (json.dumps(payload), signed_at))
    return payload, signed_at


def load(token: str, salt: str, max_age: int) -> Any:
    """The payload of a token signed with `salt` at most `max_age` seconds ago; else TokenError."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise TokenError("malformed", "The token is empty, too long or not a string")
    try:
        payload, signed_at = _unsign(token, salt)
    except signing.BadSignature:
        raise TokenError("forged", "The token's signature is not valid") from None
    except Exception:  # zlib/JSON errors inside a validly signed blob cannot happen; be safe anyway
        raise TokenError("malformed", "The token could not be read") from None
    if time.time() - signed_at > max_age:
        raise TokenError("expired", "The token has expired")
    return payload


def new_visitor_id() -> str:
    return secrets.token_hex(16)


def sign_visitor(visitor_id: str) -> str:
    return dump(visitor_id, VISITOR_SALT)


def visitor_token_for(visitor_id: str, sent: str | None = None) -> str:
    """The visitor token to hand back: the one the visitor sent while it is younger than half its
    lifetime (a frontend sees one token across calls), else a newly signed one (the renewal)."""
    if sent:
        try:
            if load(sent, VISITOR_SALT, int(tailor_settings.VISITOR_TOKEN_MAX_AGE) // 2) == visitor_id:
                return sent
        except TokenError:
            pass
    return sign_visitor(visitor_id)


def read_visitor_token(token: str) -> str:
    value = load(token, VISITOR_SALT, int(tailor_settings.VISITOR_TOKEN_MAX_AGE))
    if not isinstance(value, str) or not (8 <= len(value) <= 64):
        raise TokenError("malformed", "The visitor token does not hold a visitor id")
    return value
