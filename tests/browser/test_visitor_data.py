"""A privacy officer answers a data request in the real admin: Tailor → Visitor data, look the visitor
up by their token, download the export, then forget them after confirming."""

from __future__ import annotations

import json
import os

import pytest
from django.core.management import call_command
from django.test import Client

from tailor.signing import read_visitor_token
from tests.browser.admin import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT = "/tmp/visitor-data.png"
LOOKUP_SCREENSHOT = "/tmp/visitor-data-lookup.png"
PAGE = """query { personalizedPage(urlPath: "/", inSite: true, context: {consent: {personalization: true,
  analytics: true}}) { visitorToken decisions { slot token } } }"""
RECORD = "mutation ($t: String!) { recordEvent(token: $t, kind: IMPRESSION) { counted } }"


def gql(client: Client, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}})
    return client.post("/graphql/", body, content_type="application/json").json()["data"]


def test_privacy_officer_exports_and_forgets_a_visitor(page, live_server):
    call_command("tailor_demo", stdout=open(os.devnull, "w"))
    api = Client()
    visit = gql(api, PAGE)["personalizedPage"]
    for d in visit["decisions"]:
        assert gql(api, RECORD, {"t": d["token"]})["recordEvent"]["counted"]
    token = visit["visitorToken"]
    visitor = read_visitor_token(token)

    log_in(page, live_server)
    page.click("#wagtail-sidebar button:has-text('Tailor')")
    page.click("#wagtail-sidebar a:has-text('Visitor data')")
    page.wait_for_url("**/admin/tailor/visitor-data/")

    page.fill("#id_visitor", token)
    page.fill("#id_reference", "REQ-42")
    page.click("button[value=lookup]")
    page.wait_for_selector("[data-tailor-found=events]")
    assert page.inner_text("[data-tailor-found=events]") == "3 logged events"
    assert page.inner_text("[data-tailor-found=profiles]") == "1 profile"
    page.screenshot(path=LOOKUP_SCREENSHOT, full_page=True)

    with page.expect_download() as download:
        page.click("button[value=export]")
    exported = json.loads(open(download.value.path()).read())
    assert exported["visitorId"] == visitor and len(exported["events"]) == 3

    # without the confirmation nothing is erased
    page.click("button[value=forget]")
    page.wait_for_selector("text=Tick the box to confirm the erasure.")
    page.check("#id_confirm")
    page.click("button[value=forget]")
    page.wait_for_selector("text=Visitor forgotten: 1 profile(s) and 3 logged event(s) erased.")
    page.screenshot(path=SCREENSHOT, full_page=True)

    assert "Erasure" in page.inner_text("table.listing") and "REQ-42" in page.inner_text("table.listing")
    assert visitor not in page.content()
    after = gql(api, "query ($v: String!) { exportVisitorData(visitorToken: $v) { profile events } }", {"v": token})
    assert after["exportVisitorData"] == {"profile": None, "events": []}
