"""Demo content for `manage.py tailor_demo`: built as raw StreamField JSON with stable ids, so
re-running the command updates the page in place and keeps each slot's and variant's identity."""

from __future__ import annotations

import uuid

_NS = uuid.UUID("6f1c1f9e-6c55-4a43-9d1e-7a2b1c0de001")


def sid(*parts: str) -> str:
    """A stable block id for the demo content."""
    return str(uuid.uuid5(_NS, "/".join(parts)))


def heading(text: str, *key: str) -> dict:
    return {"type": "heading", "value": text, "id": sid(*key, "heading")}


def paragraph(html: str, *key: str) -> dict:
    return {"type": "paragraph", "value": html, "id": sid(*key, "paragraph")}


def button(label: str, url: str, *key: str) -> dict:
    return {"type": "button", "value": {"label": label, "url": url}, "id": sid(*key, "button")}


def condition(kind: str, value: dict, *key: str) -> dict:
    return {"type": kind, "value": {"negate": False, **value}, "id": sid(*key, kind)}


def variant(slot: str, name: str, content: list, conditions: list, match: str = "all", weight: float = 1.0) -> dict:
    return {
        "type": "item",
        "id": sid(slot, name),
        "value": {"name": name, "content": content, "match": match, "conditions": conditions, "weight": weight},
    }


def personalized(slot: str, default: list, variants: list, policy: str = "RULES", options: dict | None = None) -> dict:
    value = {"slot": slot, "policy": policy, "default": default, "variants": variants}
    if options is not None:
        value["options"] = options
    return {"type": "personalized", "id": sid(slot), "value": value}


def learning_options(algorithm: str = "thompson", **extra) -> dict:
    """A PersonalizedBlock's learning options (see `cms.blocks.PolicyOptionsBlock`)."""
    return {
        "algorithm": algorithm,
        "reward": "conversion",
        "split_by": [],
        "min_impressions": 200,
        "half_life": None,
        **extra,
    }


def hero_slot() -> dict:
    return personalized(
        "hero",
        default=[
            heading("Content that fits the moment", "hero", "default"),
            paragraph("<p>Tailor shows each visitor the variant that fits them.</p>", "hero", "default"),
        ],
        variants=[
            variant(
                "hero",
                "Rainy day",
                [
                    heading("Rainy out there? Stay in with us", "hero", "Rainy day"),
                    paragraph("<p>Cosy reads for a wet day.</p>", "hero", "Rainy day"),
                ],
                [
                    condition(
                        "weather",
                        {"conditions": ["rain"], "min_temperature": None, "max_temperature": None},
                        "hero",
                        "Rainy day",
                    )
                ],
            ),
            variant(
                "hero",
                "Cheer up",
                [heading("Having a rough day? Here is something kind", "hero", "Cheer up")],
                [condition("emotion", {"labels": ["sadness"], "min_confidence": 0.5}, "hero", "Cheer up")],
            ),
            variant(
                "hero",
                "Morning",
                [heading("Good morning! Start your day with us", "hero", "Morning")],
                [condition("time_of_day", {"start": "06:00:00", "end": "11:00:00"}, "hero", "Morning")],
            ),
            variant(
                "hero",
                "Evening",
                [heading("Good evening! Unwind with our picks", "hero", "Evening")],
                [condition("time_of_day", {"start": "18:00:00", "end": "23:00:00"}, "hero", "Evening")],
            ),
        ],
    )


#: the demo's rule-defined segment, used by the `reading` slot
MOBILE_EVENING_READERS = {
    "name": "Mobile evening readers",
    "slug": "mobile-evening-readers",
    "description": "Visitors on a phone between 18:00 and 23:00 their time.",
    "match": "all",
    "conditions": [
        {"type": "device", "value": {"negate": False, "devices": ["mobile"]}, "id": sid("segment", "device")},
        {
            "type": "time_of_day",
            "value": {"negate": False, "start": "18:00:00", "end": "23:00:00"},
            "id": sid("segment", "time"),
        },
    ],
}


def reading_slot() -> dict:
    return personalized(
        "reading",
        default=[paragraph("<p>Browse our latest articles.</p>", "reading", "default")],
        variants=[
            variant(
                "reading",
                "Evening reading list",
                [
                    heading("Tonight's short reads for your phone", "reading", "Evening reading list"),
                    button("Open the reading list", "/reading-list/", "reading", "Evening reading list"),
                ],
                [condition("in_segment", {"segment": MOBILE_EVENING_READERS["slug"]}, "reading", "Evening")],
            )
        ],
    )


#: the demo's call to action: a bandit learns which of these converts best
CTA_VARIANTS = (
    ("Learn more", "/features/"),
    ("Start free trial", "/signup/"),
    ("Book a demo", "/demo/"),
)


def cta_slot() -> dict:
    return personalized(
        "cta",
        default=[button("Learn more", "/features/", "cta", "default")],
        variants=[
            variant("cta", label, [button(label, url, "cta", label)], conditions=[]) for label, url in CTA_VARIANTS
        ],
        policy="BANDIT",
        options=learning_options("thompson"),
    )


def home_body() -> list[dict]:
    return [
        heading("Welcome to the Tailor demo", "intro"),
        hero_slot(),
        reading_slot(),
        cta_slot(),
        paragraph("<p>Everything above was chosen for you. Ask the API why.</p>", "outro"),
    ]


# --- the Korean home page (the `ko` locale's translation of the home page) -------------------------

#: the Korean home page's slug: its URL path is /ko/ (`personalizedPage(urlPath: "/ko/")`)
KOREAN_SLUG = "ko"


def _rekeyed(value, prefix: str):
    """`value` with every block id replaced by a stable id of its own: the Korean page's slots and
    variants are experiments of their own, not the English page's."""
    if isinstance(value, list):
        return [_rekeyed(v, prefix) for v in value]
    if isinstance(value, dict):
        out = {k: _rekeyed(v, prefix) for k, v in value.items()}
        if isinstance(out.get("id"), str):
            out["id"] = sid(prefix, out["id"])
        return out
    return value


def korean_hero_slot() -> dict:
    return personalized(
        "hero",
        default=[
            heading("지금 이 순간에 꼭 맞는 콘텐츠", "hero", "default"),
            paragraph("<p>Tailor는 방문자마다 가장 잘 맞는 변형을 보여 줍니다.</p>", "hero", "default"),
        ],
        variants=[
            variant(
                "hero",
                "비 오는 날",
                [
                    heading("밖에 비가 오나요? 저희와 함께 실내에서 쉬어 가세요", "hero", "Rainy day"),
                    paragraph("<p>비 오는 날에 어울리는 포근한 읽을거리.</p>", "hero", "Rainy day"),
                ],
                [
                    condition(
                        "weather",
                        {"conditions": ["rain"], "min_temperature": None, "max_temperature": None},
                        "hero",
                        "Rainy day",
                    )
                ],
            ),
            variant(
                "hero",
                "힘내요",
                [heading("힘든 하루인가요? 따뜻한 이야기를 준비했어요", "hero", "Cheer up")],
                [condition("emotion", {"labels": ["sadness"], "min_confidence": 0.5}, "hero", "Cheer up")],
            ),
            variant(
                "hero",
                "아침",
                [heading("좋은 아침이에요! 저희와 함께 하루를 시작하세요", "hero", "Morning")],
                [condition("time_of_day", {"start": "06:00:00", "end": "11:00:00"}, "hero", "Morning")],
            ),
            variant(
                "hero",
                "저녁",
                [heading("좋은 저녁이에요! 편히 쉬며 저희 추천을 둘러보세요", "hero", "Evening")],
                [condition("time_of_day", {"start": "18:00:00", "end": "23:00:00"}, "hero", "Evening")],
            ),
        ],
    )


#: the Korean call to action's variants (label, URL)
KOREAN_CTA_VARIANTS = (
    ("더 알아보기", "/ko/features/"),
    ("무료 체험 시작", "/ko/signup/"),
    ("데모 예약", "/ko/demo/"),
)


def korean_home_body() -> list[dict]:
    body = [
        heading("Tailor 데모에 오신 것을 환영합니다", "intro"),
        korean_hero_slot(),
        personalized(
            "cta",
            default=[button("더 알아보기", "/ko/features/", "cta", "default")],
            variants=[
                variant("cta", label, [button(label, url, "cta", label)], conditions=[])
                for label, url in KOREAN_CTA_VARIANTS
            ],
            policy="BANDIT",
            options=learning_options("thompson"),
        ),
        paragraph("<p>위의 모든 내용은 당신을 위해 골랐습니다. 이유는 API에 물어보세요.</p>", "outro"),
    ]
    return _rekeyed(body, KOREAN_SLUG)


# --- journeys and predictions: a small shop whose pricing page asks likely buyers to start ----------

#: the demo's funnel (`JourneyStage`): everyone starts in Discover; a few product pages make a
#: visitor Consider, a likely conversion Decide, a conversion Retain
JOURNEY_STAGES = (
    {"slug": "discover", "name": "Discover", "order": 1, "conditions": []},
    {
        "slug": "consider",
        "name": "Consider",
        "order": 2,
        "conditions": [condition("journey", {"metric": "product_pages", "min": 3, "max": None}, "stage", "consider")],
    },
    {
        "slug": "decide",
        "name": "Decide",
        "order": 3,
        "conditions": [condition("likely_to_convert", {"threshold": 0.3}, "stage", "decide")],
    },
    {
        "slug": "retain",
        "name": "Retain",
        "order": 4,
        "conditions": [condition("journey", {"metric": "conversions", "min": 1, "max": None}, "stage", "retain")],
    },
)


def next_step_slot() -> dict:
    """The pricing page's call to action: "Ready to start?" for visitors the model expects to convert."""
    return personalized(
        "next-step",
        default=[button("Compare plans", "/pricing/#plans", "next-step", "default")],
        variants=[
            variant(
                "next-step",
                "Ready to start?",
                [
                    heading("Ready to start?", "next-step", "ready"),
                    button("Start your trial now", "/signup/", "next-step", "ready"),
                ],
                [condition("likely_to_convert", {"threshold": 0.3}, "next-step", "ready")],
            ),
            variant(
                "next-step",
                "Welcome back",
                [heading("Welcome back! Here is what is new", "next-step", "retain")],
                [condition("journey_stage", {"stage": "retain"}, "next-step", "retain")],
            ),
        ],
    )


#: the shop's pages under the home page: (slug, title, body); "products-*" and "pricing" are
#: product pages to the journey (their section's words), "about" an informational one
def shop_pages() -> list[tuple[str, str, list[dict]]]:
    pages = [
        (
            f"products-{name}",
            f"Product: {name.title()}",
            [heading(f"Tailor {name.title()}", "shop", name), paragraph(f"<p>All about {name}.</p>", "shop", name)],
        )
        for name in ("starter", "team", "enterprise")
    ]
    pages.append(("about", "About us", [paragraph("<p>Who we are.</p>", "shop", "about")]))
    pages.append(("pricing", "Pricing", [heading("Plans and pricing", "shop", "pricing"), next_step_slot()]))
    return pages
