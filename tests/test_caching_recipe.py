"""The caching recipe of docs/frontend.md, through the shipped operation documents: page content by GET
(cacheable, the same bytes for everyone), decisions per visitor. Two cookie-less visitors through the
cached path never share a token or an id, and the bandit learns from both."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

from tailor.signing import read_visitor_token
from variants.feedback import stats_store

OPERATIONS = Path(__file__).resolve().parent.parent / "graphql" / "operations"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def document(name: str) -> str:
    return (OPERATIONS / name).read_text(encoding="utf-8")


def content(client) -> tuple[dict, object]:
    query = urlencode(
        {"query": document("page_content.graphql"), "variables": json.dumps({"urlPath": "/", "inSite": True})}
    )
    response = client.get(f"/graphql/?{query}")
    return response.json(), response


def decisions(gql) -> dict:
    answer = gql(
        document("page_decisions.graphql"),
        {"urlPath": "/", "inSite": True, "forwardedHeaders": [{"name": "User-Agent", "value": BROWSER}]},
        HTTP_USER_AGENT="node",
    )
    assert "errors" not in answer, answer
    return answer["data"]["personalizedPage"]


def impressions(decision: dict) -> int:
    arm = stats_store().snapshot([decision["slotId"]])[decision["slotId"]].get("*", {}).get(decision["variant"])
    return arm.impressions if arm else 0


def test_two_cookieless_visitors_share_the_cached_content_but_no_token_and_both_teach_the_bandit(
    home_page, client, gql
):
    shared_first, first_response = content(client)
    shared_again, _ = content(client)
    first, second = decisions(gql), decisions(gql)
    cta_first = next(d for d in first["decisions"] if d["slot"] == "cta")
    cta_second = next(d for d in second["decisions"] if d["slot"] == "cta")
    before = {id(cta_first): impressions(cta_first), id(cta_second): impressions(cta_second)}

    # the shared part: cacheable, identical, and holding nothing of either visitor
    assert first_response["Cache-Control"].startswith("public, max-age=")
    assert shared_first == shared_again and "errors" not in shared_first
    text = json.dumps(shared_first)
    for visitor in (first, second):
        assert visitor["visitorToken"] not in text
        assert read_visitor_token(visitor["visitorToken"]) not in text
        assert all(d["token"] not in text for d in visitor["decisions"])
    # each region's content is in the shared part, for every decision to pick from
    regions = [b for b in shared_first["data"]["page"]["body"] if b["__typename"] == "PersonalizedBlock"]
    assert {v["id"] for r in regions for v in r["variants"]} >= {cta_first["variant"], cta_second["variant"]} - {
        "default"
    }

    # the per-visitor part: nothing shared between the two
    assert first["visitorToken"] != second["visitorToken"]
    assert read_visitor_token(first["visitorToken"]) != read_visitor_token(second["visitorToken"])
    assert not {d["token"] for d in first["decisions"]} & {d["token"] for d in second["decisions"]}

    # both impressions count: the bandit learns from both visitors
    record = """mutation($token: String!) { recordEvent(token: $token, kind: IMPRESSION) { counted } }"""
    assert gql(record, {"token": cta_first["token"]}, HTTP_USER_AGENT=BROWSER)["data"]["recordEvent"]["counted"]
    assert gql(record, {"token": cta_second["token"]}, HTTP_USER_AGENT=BROWSER)["data"]["recordEvent"]["counted"]
    if cta_first["variant"] == cta_second["variant"]:
        assert impressions(cta_first) == before[id(cta_first)] + 2
    else:
        assert impressions(cta_first) == before[id(cta_first)] + 1
        assert impressions(cta_second) == before[id(cta_second)] + 1
