"""Decision tokens: the only way to record an event against a decision.

They are signed with `tailor.signing` (the visitor token lives there too, and is re-exported here):
a forged or tampered token fails the signature and an old one fails `max_age`.

A decision token carries what recording an event against it needs without any lookup: the slot,
variant, policy and propensity, the allocation bucket and the stats buckets the event is counted in,
the visitor's analytics consent at decision time, whether the request came from a bot, and a random
nonce that makes (token, kind) identify one showing's event of that kind. It is signed, not encrypted: it holds
nothing the visitor may not see (their own context keys, e.g. ``device=mobile``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from tailor.settings import tailor_settings
from tailor.signing import TokenError, dump, load, new_visitor_id, read_visitor_token, sign_visitor
from variants.engine import Decision

__all__ = [
    "DecisionClaims",
    "TokenError",
    "new_visitor_id",
    "read_decision_token",
    "read_visitor_token",
    "sign_decision",
    "sign_visitor",
]

DECISION_SALT = "tailor.decision"


@dataclass(frozen=True)
class DecisionClaims:
    page_id: int | None
    slot_id: str
    slot_name: str
    variant_id: str
    variant_name: str
    policy: str
    probability: float
    bucket: str
    reasons: tuple[str, ...]
    visitor_id: str | None
    nonce: str
    #: where an event against this decision is counted ("*" first); see `stats.event_increments`
    stats_buckets: tuple[str, ...] = ("*",)
    #: the visitor's analytics consent when the decision was made
    analytics: bool = False
    #: the decision was made for a bot (its events are never counted)
    bot: bool = False
    #: what reviews break results down by: ``device|daypart|segments`` (`services.breakdown_dims`)
    dims: str = ""


def sign_decision(
    decision: Decision,
    *,
    page_id: int | None,
    visitor_id: str | None,
    analytics: bool = False,
    bot: bool = False,
    dims: str = "",
) -> str:
    payload = {
        "p": page_id,
        "s": decision.slot_id,
        "sn": decision.slot_name,
        "v": decision.variant_id,
        "vn": decision.variant_name,
        "po": decision.policy,
        "pr": round(decision.probability, 6),
        "b": getattr(decision, "bucket", "*"),
        "r": list(decision.reasons)[:10],
        "u": visitor_id,
        # makes every token unique, so (token, kind) identifies one showing's event of that kind;
        # 96 bits, so two tokens sharing one (and an event being wrongly deduplicated) never happens
        "n": secrets.token_urlsafe(12),
    }
    stats_buckets = list(getattr(decision, "stats_buckets", ("*",)))
    if stats_buckets != ["*"]:
        payload["sb"] = stats_buckets
    if analytics:
        payload["a"] = 1
    if bot:
        payload["bot"] = 1
    if dims:
        payload["d"] = dims
    return dump(payload, DECISION_SALT, compress=True)


def read_decision_token(token: str) -> DecisionClaims:
    data = load(token, DECISION_SALT, int(tailor_settings.TOKEN_MAX_AGE))
    try:
        return DecisionClaims(
            page_id=data.get("p"),
            slot_id=str(data["s"]),
            slot_name=str(data.get("sn") or data["s"]),
            variant_id=str(data["v"]),
            variant_name=str(data.get("vn") or data["v"]),
            policy=str(data["po"]),
            probability=float(data["pr"]),
            bucket=str(data.get("b") or "*"),
            reasons=tuple(str(r) for r in data.get("r") or ()),
            visitor_id=data.get("u"),
            nonce=str(data.get("n") or ""),
            stats_buckets=tuple(str(b) for b in data.get("sb") or ("*",)),
            analytics=bool(data.get("a")),
            bot=bool(data.get("bot")),
            dims=str(data.get("d") or "")[:255],
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise TokenError("malformed", "The token does not describe a decision") from None
