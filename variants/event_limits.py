"""Rate limits on recording events (`recordEvent` and the beacon), per visitor and per client address
(``TAILOR["RATE_LIMITS"]["EVENTS_PER_VISITOR" / "EVENTS_PER_ADDRESS"]``, `tailor.ratelimit`).

The visitor is the one the decision token was made for; a token that cannot be read counts against
the address only (recording refuses it anyway).
"""

from __future__ import annotations

from collections import Counter

from tailor.ratelimit import Limited, client_address, hit
from tailor.settings import tailor_settings
from variants.tokens import TokenError, read_decision_token


def _visitor(token) -> str | None:
    if not isinstance(token, str) or not token:
        return None
    try:
        return read_decision_token(token).visitor_id
    except TokenError:
        return None


def events_limited(request, tokens: list) -> Limited | None:
    """Count the events carrying `tokens` against their visitors and the request's address; the
    limit reached, or None."""
    # the tokens are read for the visitor only when there is a per-visitor limit to count against
    per_visitor = tailor_settings.RATE_LIMITS.get("EVENTS_PER_VISITOR") is not None
    visitors = Counter(v for v in map(_visitor, tokens) if v) if per_visitor else Counter()
    return hit("EVENTS", visitors=dict(visitors), address=client_address(request), cost=len(tokens))
