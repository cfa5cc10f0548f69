"""How long Tailor keeps what it stores: the instant before which each kind of data is past its window.

The flush (`variants.event_log.prune_table`, after each run) and the purge (`variants.privacy.purge`,
`manage.py tailor_purge`, daily) both delete by these cutoffs, so the windows are written once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tailor.settings import tailor_settings


def cutoffs(now: datetime) -> dict[str, datetime]:
    """`TAILOR["PROFILE_RETENTION_DAYS"]`, `["EVENT_LOG_RETENTION_DAYS"]` and
    `["AGGREGATE_RETENTION_DAYS"]`; logged events and receipts never go before their token expires
    (until then they are what makes a replay a duplicate), with a minute's margin for clocks."""
    token_age = timedelta(seconds=int(tailor_settings.TOKEN_MAX_AGE) + 60)
    return {
        "profiles": now - timedelta(days=float(tailor_settings.PROFILE_RETENTION_DAYS)),
        "events": now - max(timedelta(days=float(tailor_settings.EVENT_LOG_RETENTION_DAYS)), token_age),
        "receipts": now - token_age,
        "aggregates": now - timedelta(days=float(tailor_settings.AGGREGATE_RETENTION_DAYS)),
    }
