"""Journeys, stages and predictions through the public interfaces: `personalizedPage`, `setConsent`,
`recordEvent` over GraphQL and `manage.py tailor_predict train`.

The demo seeds a small shop (`/products-*/`, `/about/`, `/pricing/` whose `next-step` slot shows
"Ready to start?" to visitors likely to convert) and the funnel Discover → Consider → Decide → Retain.
The site's logged sessions are seeded as consented profiles' journeys (what `personalizedPage` would
have recorded over weeks), then `tailor_predict train` learns the site's page values from them.
"""

from __future__ import annotations

import io
import json
import random

import pytest
from django.core.management import call_command
from freezegun import freeze_time

from rules.engine.journey import MAX_PAGES, MAX_SECTIONS, MAX_SESSIONS, record_conversion, record_page
from rules.models import PredictionModel
from rules.profiles import Profile, profile_store
from sample_site.home.models import HomePage
from tailor.signing import read_visitor_token

QUERY = """
query ($path: String!, $ctx: ContextInput, $visitor: String, $record: Boolean) {
  personalizedPage(urlPath: $path, inSite: true, context: $ctx, visitorToken: $visitor, recordVisit: $record) {
    visitorToken
    decisions { slot variantName reasons token }
    context {
      consent { personalization }
      journeyStage { stage name reason }
      conversionLikelihood { probability signals }
      facts { name value source detail }
    }
  }
}
"""
SET_CONSENT = """
mutation ($visitor: String, $p: Boolean!) {
  setConsent(visitorToken: $visitor, personalization: $p, analytics: true) { ok visitorToken }
}
"""
CONVERT = """
mutation ($token: String!) { recordEvent(token: $token, kind: CONVERSION, goal: "signup", value: 49) { ok counted } }
"""
YES = {"personalization": True, "analytics": True}
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
PRODUCTS = ["/products-starter/", "/products-team/", "/products-enterprise/"]


def page_ids() -> dict[str, int]:
    return {f"/{p.slug}/": p.pk for p in HomePage.objects.filter(depth=3)}


def seed_site_sessions(ids: dict[str, int], n: int = 400, seed: int = 7) -> None:
    """Past consented visitors: browsers who read a page or two, and shoppers who compare products
    and often buy on the pricing page (a conversion worth 49)."""
    rng = random.Random(seed)
    store = profile_store()
    start = 1_790_000_000  # November 2026
    for i in range(n):
        profile = Profile(f"past-{i}", consent_personalization=True, visit_count=1, page_views=1)
        t = start + i * 7200
        shopper = rng.random() < 0.4
        path = (
            ["/about/"] * (rng.random() < 0.2)
            + [rng.choice(PRODUCTS) for _ in range(rng.randint(3, 9))]
            + ["/pricing/"]
            if shopper
            else ["/about/"] * rng.randint(1, 2)
        )
        for p in path:
            section = p.strip("/")
            kind = "product" if section.startswith(("products", "pricing")) else "informational"
            profile.journey = record_page(profile.journey, now=t, page_id=ids[p], section=section, kind=kind, month=11)
            t += rng.randint(20, 150)
        if (shopper and rng.random() < 0.6) or rng.random() < 0.01:
            profile.journey = record_conversion(profile.journey, now=t, value=49)
        store.save(profile)


@pytest.fixture
def shop(home_page):
    ids = page_ids()
    seed_site_sessions(ids)
    # enough sessions and conversions: the trees are learnt from the site's own sessions too
    call_command("tailor_predict", "train", "--min-sessions", "300", stdout=open("/dev/null", "w"))
    return ids


def visit(gql, path, visitor=None, ctx=None, record=True) -> dict:
    result = gql(QUERY, {"path": path, "ctx": ctx, "visitor": visitor, "record": record}, HTTP_USER_AGENT=CHROME)
    assert "errors" not in result, result
    return result["data"]["personalizedPage"]


def decision(page: dict, slot: str) -> dict:
    return next(d for d in page["decisions"] if d["slot"] == slot)


def shop_like_a_buyer(gql, clock, ctx, views: int = 12) -> str | None:
    """Twelve product pages, a minute or so each, then the pricing page; returns the visitor token."""
    token = None
    for i in range(views):
        token = visit(gql, PRODUCTS[i % 3], token, ctx)["visitorToken"]
        clock.tick(45 + 5 * i)
    return token


def test_a_buyers_journey_gets_ready_to_start_with_consent_and_not_without(shop, gql):
    with freeze_time("2026-11-30T10:00:00Z") as clock:
        token = shop_like_a_buyer(gql, clock, {"consent": YES})
        consented = visit(gql, "/pricing/", token, {"consent": YES})
    with freeze_time("2026-11-30T12:00:00Z") as clock:
        anonymous = shop_like_a_buyer(gql, clock, None)
        refused = visit(gql, "/pricing/", anonymous)

    ready = decision(consented, "next-step")
    assert ready["variantName"] == "Ready to start?"
    # the reason gives the probability and names the strongest signals
    assert "likely to convert" in ready["reasons"][0] and "product pages" in ready["reasons"][0], ready
    likely = consented["context"]["conversionLikelihood"]
    assert likely["probability"] >= 0.3 and any("13 product pages" in s for s in likely["signals"])
    # the stage and why, in the context echo: likely to convert is the Decide stage
    stage = consented["context"]["journeyStage"]
    assert stage["stage"] == "decide" and stage["reason"].startswith("Decide:"), stage
    journey = next(f for f in consented["context"]["facts"] if f["name"] == "journey")
    assert journey["source"] == "PROFILE" and journey["value"]["kinds"]["product"]["pages"] == 13

    # without personalization consent: no journey, no prediction, the default with a reason saying so
    fallback = decision(refused, "next-step")
    assert fallback["variantName"] == "Default"
    assert any("needs personalization consent" in r for r in fallback["reasons"]), fallback["reasons"]
    assert refused["context"]["conversionLikelihood"] is None and refused["context"]["journeyStage"] is None
    assert not {f["name"] for f in refused["context"]["facts"]} & {"journey", "conversion_likelihood"}


def test_a_reader_is_not_likely_and_stays_in_discover(shop, gql):
    # the funnel's Decide stage reads the prediction, so every page echoes it (here: no slot reads it)
    with freeze_time("2026-11-30T10:00:00Z") as clock:
        token = visit(gql, "/about/", None, {"consent": YES})["visitorToken"]
        clock.tick(20)
        page = visit(gql, "/about/", token, {"consent": YES})

    likely = page["context"]["conversionLikelihood"]
    assert likely["probability"] < 0.2 and "no product pages" in likely["signals"], likely
    assert page["context"]["journeyStage"]["stage"] == "discover"


def test_a_conversion_moves_the_journey_to_retain_and_withdrawing_consent_erases_it(shop, gql, state_backend):
    with freeze_time("2026-11-30T10:00:00Z") as clock:
        token = shop_like_a_buyer(gql, clock, {"consent": YES}, views=4)
        page = visit(gql, "/pricing/", token, {"consent": YES})
        converted = gql(CONVERT, {"token": decision(page, "next-step")["token"]})["data"]["recordEvent"]
        clock.tick(30)
        after = visit(gql, "/pricing/", token, {"consent": YES})
    assert converted == {"ok": True, "counted": True}
    assert after["context"]["journeyStage"]["stage"] == "retain"

    visitor_id = read_visitor_token(token)
    stored = profile_store().get(visitor_id).journey
    # compact and bounded: page ids and section names, never a URL
    session = stored["sessions"][-1]
    assert stored["conversions"] == 1 and session["conv"] == 1 and session["conv_at"] == 5
    assert all(isinstance(p, int) for p in session["pages"])
    assert "/" not in json.dumps({k: v for k, v in session.items() if k != "pages"})

    # withdrawing consent erases the journey with the profile's behaviour
    gql(SET_CONSENT, {"visitor": token, "p": False})
    assert profile_store().get(visitor_id).journey == {}


def test_the_journey_is_bounded():
    journey = None
    for i in range(MAX_SESSIONS * 3):
        t = 1_790_000_000 + i * 86400
        for j in range(MAX_PAGES + 25):
            journey = record_page(journey, now=t + j * 10, page_id=j, section=f"s{j}", kind="product")
    assert len(journey["sessions"]) == MAX_SESSIONS
    assert all(len(s["pages"]) == MAX_PAGES and len(s["sections"]) == MAX_SECTIONS for s in journey["sessions"])
    assert all(s["views"] == MAX_PAGES + 25 for s in journey["sessions"])
    # retention: sessions older than the window go when the journey is written
    journey = record_page(
        journey, now=1_790_000_000 + 400 * 86400, page_id=1, section="x", kind="product", retention_seconds=30 * 86400
    )
    assert len(journey["sessions"]) == 1


def test_train_keeps_the_site_table_and_every_process_reloads_it(shop):
    row = PredictionModel.objects.get(active=True)
    pricing = str(shop["/pricing/"])
    # Tailor's own page value: the pricing page was on most converting sessions' way
    assert row.meta["site"]["pages"][pricing][0] > 10
    assert row.meta["site"]["next_sections"]["products-team"]
    assert row.meta["trees_from"] == "site" and row.meta["sessions"] == 400


def test_the_simulator_shows_the_stage_and_the_likelihood_of_a_stated_journey(shop, client):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="admin"))
    pricing = HomePage.objects.get(slug="pricing")
    data = {"page": pricing.pk, "revision": "latest", "date": "2026-11-30", "time": "10:00", "timezone": "UTC"}
    buyer = client.post("/admin/tailor/simulator/", {**data, "product_pages": 12, "journey_minutes": 9})
    reader = client.post("/admin/tailor/simulator/", data)
    assert buyer.status_code == reader.status_code == 200

    sim = buyer.context["simulation"]
    facts = {f.name: f for f in sim.facts}
    assert facts["journey"].source == "simulator"
    assert facts["journey_stage"].value.startswith("Decide:"), facts["journey_stage"]
    assert "likely to convert" in facts["conversion_likelihood"].value
    step = next(s for s in sim.slots if s.name == "next-step")
    assert step.decision.variant_name == "Ready to start?"
    # no journey stated: the simulated visitor has none, and the prediction is unknown
    step = next(s for s in reader.context["simulation"].slots if s.name == "next-step")
    assert step.decision.variant_name == "Default"
    assert "journey_stage" not in {f.name for f in reader.context["simulation"].facts}


def test_tailor_simulate_journeys_scenario_targets_likely_buyers(home_page):
    out = io.StringIO()
    call_command(
        "tailor_simulate",
        "--scenario",
        "journeys",
        "--history",
        "120",
        "--visitors",
        "60",
        "--seed",
        "3",
        "--yes",
        stdout=out,
        stderr=io.StringIO(),
    )
    text = out.getvalue()
    assert "60 consented visitors after training on the site's sessions" in text
    shoppers = int(text.split("shoppers: ")[1].split(",")[0])
    shown = int(text.split("shown 'Ready to start?' ")[2].split(" ")[0])
    readers_shown = int(text.split("shown 'Ready to start?' ")[1].split(" ")[0])
    assert shown >= shoppers * 0.6 and readers_shown == 0, text
    gained = float(text.split("targeting gained ")[1].split(" ")[0])
    assert gained > 0, text


def test_editors_find_the_stages_in_the_tailor_menu(home_page, client):
    from django.contrib.auth import get_user_model

    from rules.models import JourneyStage

    client.force_login(get_user_model().objects.get(username="admin"))
    index = client.get("/admin/snippets/tailor_rules/journeystage/")
    assert index.status_code == 200
    html = index.content.decode()
    assert all(name in html for name in ("Discover", "Consider", "Decide", "Retain"))
    decide = JourneyStage.objects.get(slug="decide")
    edit = client.get(f"/admin/snippets/tailor_rules/journeystage/edit/{decide.pk}/")
    assert edit.status_code == 200 and "Likely to convert" in edit.content.decode()


def test_a_stage_cannot_depend_on_a_stage_and_bad_conditions_name_the_problem(db):
    from django.core.exceptions import ValidationError

    from rules.models import JourneyStage

    loop = JourneyStage(
        name="Loop",
        slug="loop",
        conditions=json.dumps([{"type": "journey_stage", "value": {"stage": "decide", "negate": False}}]),
    )
    with pytest.raises(ValidationError, match="cannot depend on a journey stage"):
        loop.full_clean()
    bad = JourneyStage(
        name="Bad",
        slug="bad",
        conditions=json.dumps([{"type": "likely_to_convert", "value": {"threshold": 5, "negate": False}}]),
    )
    with pytest.raises(ValidationError):
        bad.full_clean()
