"""Shared workloads for benchmarks and the tests that guard the same properties."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from rules.engine import Context

CONDITION_POOL = [
    ("time_of_day", lambda r: {"start": f"{r.randrange(24):02d}:00:00", "end": f"{r.randrange(24):02d}:30:00"}),
    ("day_of_week", lambda r: {"days": [str(d) for d in r.sample(range(7), 3)]}),
    ("device", lambda r: {"devices": [r.choice(["mobile", "tablet", "desktop"])]}),
    ("country", lambda r: {"countries": r.choice(["KR", "JP, DE", "US, CA", "FR"])}),
    ("city", lambda r: {"cities": r.choice(["Seoul, 서울", "Berlin", "New York, NYC"]), "threshold": 85}),
    (
        "weather",
        lambda r: {
            "conditions": [r.choice(["rain", "clear", "snow"])],
            "min_temperature": None,
            "max_temperature": None,
        },
    ),
    ("language", lambda r: {"languages": r.choice(["ko", "en", "de"]), "any_preferred": True}),
    ("utm", lambda r: {"source": r.choice(["newsletter", "google", "ads*"]), "medium": "", "campaign": ""}),
    ("trait", lambda r: {"key": "plan", "operator": "equals", "value": r.choice(["pro", "free"])}),
    ("referrer", lambda r: {"pattern": r.choice(["google.com", "*.example.org"])}),
]


def raw_condition(kind: str, params: dict, key: str) -> dict:
    return {"type": kind, "value": {"negate": False, **params}, "id": key}


def heavy_page_body(slots: int = 5, variants: int = 8, conditions: int = 4, seed: int = 1) -> list[dict]:
    """StreamField raw data: `slots` personalized regions × `variants` × `conditions` (match all)."""
    r = random.Random(seed)
    body = []
    for s in range(slots):
        items = []
        for v in range(variants):
            picks = r.sample(CONDITION_POOL, conditions)
            items.append(
                {
                    "type": "item",
                    "id": f"slot{s}-v{v}",
                    "value": {
                        "name": f"Variant {v + 1}",
                        "content": [{"type": "heading", "value": f"Slot {s} variant {v}", "id": f"h{s}-{v}"}],
                        "match": "all",
                        "conditions": [raw_condition(k, make(r), f"c{s}-{v}-{i}") for i, (k, make) in enumerate(picks)],
                        "weight": 1.0,
                    },
                }
            )
        body.append(
            {
                "type": "personalized",
                "id": f"slot-{s}",
                "value": {
                    "slot": f"slot-{s}",
                    "policy": "RULES",
                    "default": [{"type": "heading", "value": "Default", "id": f"d{s}"}],
                    "variants": items,
                },
            }
        )
    return body


def visitor_context(seed: int = 0) -> Context:
    r = random.Random(seed)
    return Context.build(
        now=datetime(2026, 11, 30, r.randrange(24), r.randrange(60), tzinfo=UTC),
        timezone=r.choice(["Asia/Seoul", "Europe/Berlin", "America/New_York"]),
        device=r.choice(["mobile", "tablet", "desktop"]),
        country=r.choice(["KR", "DE", "US", "FR"]),
        city=r.choice(["seoul-si", "Berlin", "NYC"]),
        weather={"condition": r.choice(["rain", "clear", "snow"]), "temperature_c": 10.0},
        language=(r.choice(["ko-KR", "en-US", "de-DE"]),),
        utm={"source": r.choice(["newsletter", "google", "adsense"])},
        traits={"plan": r.choice(["pro", "free"])},
        referrer=r.choice(["https://www.google.com/", "https://blog.example.org/x", ""]),
    )


def heavy_slots(slots: int = 5, variants: int = 8, conditions: int = 4, seed: int = 1):
    """The same workload as engine `Slot`s, compiled without Django (for the engine benchmark)."""
    # here, not at the top: the tests that import this module's pages need no engine registry
    from rules.engine import registry
    from variants.engine import Slot, Variant

    compiled = []
    for raw in heavy_page_body(slots, variants, conditions, seed):
        value = raw["value"]
        items = []
        for item in value["variants"]:
            specs = [
                {"type": c["type"], **{k: v for k, v in c["value"].items() if k != "negate"}}
                for c in item["value"]["conditions"]
            ]
            items.append(
                Variant(item["id"], item["value"]["name"], registry.build({"type": "all", "conditions": specs}))
            )
        compiled.append(Slot(raw["id"], value["slot"], tuple(items)))
    return compiled
