"""`manage.py tailor_audit`: per slot, the segments that never see a variant they are eligible for (from
the logged impressions' breakdowns against the slot's targeting), and the traffic per device."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from freezegun import freeze_time

from sample_site.home.demo import MOBILE_EVENING_READERS, condition, heading, personalized, variant

PAGE = """
query ($path: String!, $ctx: ContextInput) {
  personalizedPage(urlPath: $path, inSite: true, context: $ctx) { decisions { slot variantName token } }
}
"""
RECORD = "mutation ($t: String!) { recordEvent(token: $t, kind: IMPRESSION) { counted } }"
YES = {"personalization": True, "analytics": True}
#: members of "Mobile evening readers": a phone at 20:00 in Seoul
READER = {"timezone": "Asia/Seoul", "now": "2026-11-30T20:00:00+09:00", "device": "MOBILE", "consent": YES}
DESKTOP = {"timezone": "Asia/Seoul", "now": "2026-11-30T10:00:00+09:00", "device": "DESKTOP", "consent": YES}
SEGMENT = MOBILE_EVENING_READERS["slug"]


def audit(*args) -> str:
    out = io.StringIO()
    call_command("tailor_audit", *args, stdout=out)
    return out.getvalue()


def view(gql, path: str, ctx: dict) -> dict:
    page = gql(PAGE, {"path": path, "ctx": ctx})["data"]["personalizedPage"]
    for d in page["decisions"]:
        assert gql(RECORD, {"t": d["token"]})["data"]["recordEvent"]["counted"] is True
    return {d["slot"]: d["variantName"] for d in page["decisions"]}


@pytest.fixture
def shadowed(make_page):
    """A RULES slot whose first variant is for everyone, so the segment's own variant never shows."""
    return make_page(
        "offers",
        personalized(
            "offer",
            default=[heading("Default offer", "offer", "default")],
            variants=[
                variant("offer", "For everyone", [heading("10% off", "offer", "all")], []),
                variant(
                    "offer",
                    "For evening readers",
                    [heading("Read tonight, save 20%", "offer", "readers")],
                    [condition("in_segment", {"segment": SEGMENT}, "offer", "readers")],
                ),
            ],
        ),
    )


def test_audit_names_the_segment_that_never_sees_its_own_variant_and_the_device_spread(shadowed, gql):
    with freeze_time("2026-11-30T11:30:00Z"):
        for _ in range(3):
            assert view(gql, "/offers/", READER)["offer"] == "For everyone"
        view(gql, "/offers/", DESKTOP)
        shown = view(gql, "/", READER)
        call_command("tailor_flush_events", stdout=io.StringIO())
        out = audit()

    offer = out.split('Slot "offer"', 1)[1].split("\nSlot ", 1)[0]
    assert "4 impression(s)" in offer
    assert "Devices: mobile 75% (3), desktop 25% (1)" in offer
    assert f'- Mobile evening readers ({SEGMENT}): "For evening readers" (targets this segment)' in offer, offer
    assert '"For everyone"' not in offer  # seen by the segment
    reading = out.split('Slot "reading"', 1)[1].split("\nSlot ", 1)[0]
    assert shown["reading"] == "Evening reading list"
    assert "Every segment saw every variant it is eligible for." in reading
    # the bandit's arms are for everyone: the two the readers were not shown are listed
    cta = out.split('Slot "cta"', 1)[1].split("\nSlot ", 1)[0]
    assert cta.count(f"({SEGMENT}):") == 2 and "no conditions: for everyone" in cta
    assert "All slots, devices: mobile" in out
    assert "segment/variant pair(s) never seen." in out


def test_audit_without_consented_traffic_says_segments_are_unknown(shadowed, gql):
    with freeze_time("2026-11-30T11:30:00Z"):
        view(gql, "/offers/", {**DESKTOP, "consent": {"personalization": False, "analytics": False}})
        out = audit("--days", "7", "--flush")

    offer = out.split('Slot "offer"', 1)[1].split("\nSlot ", 1)[0]
    assert "Impressions of the last 7 day(s)" in out
    assert "Devices: desktop 100% (1)" in offer
    # the segment's variant is still reported: nobody in that segment was seen in this slot at all
    assert "the segment had no impressions in this slot at all" in offer


def test_audit_refuses_a_bad_window():
    with pytest.raises(CommandError, match="--days"):
        audit("--days", "0")


def test_audit_shows_how_predicted_likelihood_spreads_across_devices_and_segments(shadowed, gql):
    from tests.test_prediction import run as predict
    from tests.test_prediction import seed_journeys

    assert "Predicted likelihood to convert: no consented journeys yet." in audit()
    seed_journeys(n=80)
    predict("train", "--min-sessions", "50")
    out = audit()

    lines = [line for line in out.splitlines() if line.startswith("  by ")]
    devices = [line for line in lines if line.startswith("  by device: ")]
    assert {line.split(":")[1].strip() for line in devices} == {"mobile", "desktop"}
    assert sum(int(line.split(": ")[2].split(" visitor")[0]) for line in devices) == 80
    assert all(re.search(r"mean \d+%, median \d+%, likely \d+%$", line) for line in lines)
    assert any(line.startswith("  by segment: (none)") for line in lines)
