"""Data rights through the public API: under `Sec-GPC: 1` / `DNT: 1` no visitor token is issued and
nothing keyed to the visitor is stored; `exportVisitorData(visitorToken)` hands back what is kept;
`forgetVisitor(visitorToken)` removes it, and afterwards no database row and no Redis key or value
holds the visitor id."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from freezegun import freeze_time

from tailor.redis import get_redis
from tailor.signing import read_visitor_token
from variants.event_log import stream_key

PAGE = """
query ($ctx: ContextInput, $visitor: String, $forwarded: [HeaderInput!]) {
  personalizedPage(urlPath: "/", inSite: true, context: $ctx, visitorToken: $visitor, forwardedHeaders: $forwarded) {
    visitorToken
    decisions { slot token }
    context { visitCount consent { personalization analytics source } }
  }
}
"""
RECORD = """
mutation ($token: String!, $kind: EventKind!, $goal: String, $value: Float) {
  recordEvent(token: $token, kind: $kind, goal: $goal, value: $value) { ok counted errors { field message } }
}
"""
IDENTIFY = """
mutation ($visitor: String, $forwarded: [HeaderInput!]) {
  identifyVisitor(visitorToken: $visitor, forwardedHeaders: $forwarded) { visitorToken fresh warnings { field } }
}
"""
SET_CONSENT = """
mutation ($visitor: String, $forwarded: [HeaderInput!]) {
  setConsent(visitorToken: $visitor, personalization: true, analytics: true, forwardedHeaders: $forwarded) {
    ok visitorToken consent { source }
  }
}
"""
EXPORT = """
query ($visitor: String!) {
  exportVisitorData(visitorToken: $visitor) { visitorId exportedAt consent profile events data }
}
"""
FORGET = """
mutation ($visitor: String!) {
  forgetVisitor(visitorToken: $visitor) { ok removed { profiles events } errors { field message } }
}
"""
YES = {"personalization": True, "analytics": True}
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
SIGNALS = [pytest.param("Sec-GPC", id="Sec-GPC"), pytest.param("DNT", id="DNT")]


def forwarded(**headers) -> list[dict]:
    return [{"name": "User-Agent", "value": BROWSER}] + [{"name": k, "value": v} for k, v in headers.items()]


def database_cells_holding(text: str) -> list[str]:
    """Every `table.column` of every table whose value contains `text`."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            columns = [c[0] for c in cursor.description]
            for row in cursor.fetchall():
                found += [f"{table}.{col}" for col, cell in zip(columns, row, strict=True) if text in str(cell)]
    return found


def redis_entries_holding(text: str) -> list[str]:
    """Every Redis key of the test's prefix whose name or content contains `text`."""
    client = get_redis()
    if client is None:
        return []
    from tailor.settings import tailor_settings

    found = []
    for raw in client.scan_iter(match=tailor_settings.REDIS_PREFIX + "*"):
        key = raw.decode()
        kind = client.type(raw).decode()
        if kind == "string":
            content = str(client.get(raw))
        elif kind == "hash":
            content = str(client.hgetall(raw))
        elif kind == "stream":
            content = str(client.xrange(raw))
        elif kind == "zset":
            content = str(client.zrange(raw, 0, -1))
        elif kind == "set":
            content = str(client.smembers(raw))
        else:
            content = str(client.lrange(raw, 0, -1))
        if text in key or text in content:
            found.append(key)
    return found


def visit_and_convert(gql, token: str | None = None, **headers) -> dict:
    page = gql(PAGE, {"ctx": {"consent": YES}, "visitor": token, "forwarded": forwarded()}, **headers)
    page = page["data"]["personalizedPage"]
    cta = next(d["token"] for d in page["decisions"] if d["slot"] == "cta")
    for kind, goal, value in (("IMPRESSION", None, None), ("CONVERSION", "signup", 25.0)):
        answer = gql(RECORD, {"token": cta, "kind": kind, "goal": goal, "value": value})["data"]["recordEvent"]
        assert answer["counted"] is True, answer
    return page


# --- Sec-GPC / DNT: no token, nothing stored ---------------------------------------------------------


@pytest.mark.parametrize("signal", SIGNALS)
def test_under_an_opt_out_no_visitor_token_is_issued_and_nothing_is_stored(home_page, gql, state_backend, signal):
    from rules.models import VisitorProfile
    from variants.models import Event

    page = gql(PAGE, {"ctx": {"consent": YES}, "forwarded": forwarded(**{signal: "1"})})["data"]["personalizedPage"]
    identified = gql(IDENTIFY, {"forwarded": forwarded(**{signal: "1"})})["data"]["identifyVisitor"]
    consent = gql(SET_CONSENT, {"forwarded": forwarded(**{signal: "1"})})["data"]["setConsent"]
    cta = next(d["token"] for d in page["decisions"] if d["slot"] == "cta")
    recorded = gql(RECORD, {"token": cta, "kind": "IMPRESSION"})["data"]["recordEvent"]

    assert page["visitorToken"] == ""
    assert identified["visitorToken"] == ""
    assert consent["ok"] is True and consent["visitorToken"] is None
    assert recorded["counted"] is True  # still counted, anonymously
    assert not VisitorProfile.objects.exists()
    assert list(Event.objects.values_list("visitor_id", flat=True)) == [None]
    assert not [k for k in (get_redis().keys("*profile*") if get_redis() else [])]


def test_an_opt_out_on_the_calling_request_itself_also_issues_no_token(home_page, gql):
    """A browser calling Tailor directly: its own Sec-GPC header counts."""
    page = gql(PAGE, {}, HTTP_SEC_GPC="1")["data"]["personalizedPage"]
    identified = gql(IDENTIFY, {}, HTTP_DNT="1")["data"]["identifyVisitor"]

    assert page["visitorToken"] == "" and page["context"]["consent"]["source"] == "SEC_GPC"
    assert identified["visitorToken"] == ""


def test_a_visitor_who_sends_a_token_under_an_opt_out_gets_none_back_and_their_profile_is_untouched(home_page, gql):
    with freeze_time("2026-11-30T11:00:00Z") as clock:
        token = visit_and_convert(gql)["visitorToken"]
        clock.tick(3600)
        opted_out = gql(PAGE, {"visitor": token, "ctx": {"consent": YES}}, HTTP_SEC_GPC="1")
        clock.tick(3600)
        again = gql(PAGE, {"visitor": token, "ctx": {"consent": YES}})["data"]["personalizedPage"]

    assert opted_out["data"]["personalizedPage"]["visitorToken"] == ""
    assert again["context"]["visitCount"] == 2  # the opted-out view was not recorded


# --- export ------------------------------------------------------------------------------------------


def test_export_returns_the_profile_consent_and_logged_events_as_json(home_page, gql, state_backend):
    token = visit_and_convert(gql)["visitorToken"]
    visitor = read_visitor_token(token)

    export = gql(EXPORT, {"visitor": token})["data"]["exportVisitorData"]

    assert export["visitorId"] == visitor
    assert export["consent"] == {"personalization": True, "analytics": True}
    assert export["profile"]["visitor_id"] == visitor and export["profile"]["page_views"] == 1
    assert sorted(e["kind"] for e in export["events"]) == ["conversion", "impression"]
    conversion = next(e for e in export["events"] if e["kind"] == "conversion")
    assert (conversion["goal"], conversion["value"]) == ("signup", 25.0)
    assert export["data"]["format"] == "tailor.visitor-data/1"
    assert export["data"]["events"] == export["events"] and export["data"]["profile"] == export["profile"]
    assert "IP address" in export["data"]["notStored"]


def test_export_of_a_visitor_without_consent_holds_nothing(home_page, gql):
    page = gql(PAGE, {"forwarded": forwarded()})["data"]["personalizedPage"]

    export = gql(EXPORT, {"visitor": page["visitorToken"]})["data"]["exportVisitorData"]

    assert (export["profile"], export["consent"], export["events"]) == (None, None, [])


@pytest.mark.parametrize("token", ["garbage", "eyJ2IjoiMSJ9:1tAbCd:forged-signature"])
def test_export_and_forget_refuse_an_invalid_token_naming_the_field(home_page, gql, token):
    export = gql(EXPORT, {"visitor": token})
    forget = gql(FORGET, {"visitor": token})["data"]["forgetVisitor"]

    assert export["data"]["exportVisitorData"] is None
    assert export["errors"][0]["extensions"]["field"] == "visitorToken"
    assert forget["ok"] is False and forget["errors"][0]["field"] == "visitorToken"


def test_export_answers_are_never_cached_as_shared(home_page, client, gql):
    token = visit_and_convert(gql)["visitorToken"]

    response = client.get("/graphql/", {"query": EXPORT, "variables": json.dumps({"visitor": token})})

    assert response.status_code == 200
    assert "public" not in response.get("Cache-Control", "")


# --- forget ------------------------------------------------------------------------------------------


def test_forget_leaves_nothing_keyed_to_the_visitor_in_any_table_or_redis_key(home_page, gql, state_backend):
    from variants.event_log import _stream_fields
    from variants.models import EventAggregate

    with freeze_time("2026-11-30T11:00:00Z") as clock:
        token = visit_and_convert(gql)["visitorToken"]
        clock.tick(3600)
        visit_and_convert(gql, token)
        other = visit_and_convert(gql)["visitorToken"]
    visitor, other_visitor = read_visitor_token(token), read_visitor_token(other)
    client = get_redis()
    if client is not None:  # an event stream an earlier version left behind holds visitor ids too
        from datetime import UTC, datetime

        from variants.event_log import LoggedEvent

        old = LoggedEvent("n" * 16, "click", "", None, None, "s", "v", "*", "BANDIT", visitor, datetime.now(UTC))
        client.xadd(stream_key(), _stream_fields(old))
    assert database_cells_holding(visitor) and (client is None or redis_entries_holding(visitor))

    answer = gql(FORGET, {"visitor": token})["data"]["forgetVisitor"]

    assert answer["ok"] is True and answer["errors"] == []
    assert answer["removed"]["profiles"] >= 1
    assert answer["removed"]["events"] == 4 + (1 if client is not None else 0)
    assert database_cells_holding(visitor) == []
    assert redis_entries_holding(visitor) == []
    # the anonymous counts stay (the events were folded in first), and other visitors are untouched
    assert sum(EventAggregate.objects.filter(kind="conversion").values_list("count", flat=True)) == 3
    export = gql(EXPORT, {"visitor": other})["data"]["exportVisitorData"]
    assert export["profile"]["visitor_id"] == other_visitor and len(export["events"]) == 2
    # the token still reads, but leads nowhere; forgetting again removes nothing
    assert gql(EXPORT, {"visitor": token})["data"]["exportVisitorData"]["events"] == []
    again = gql(FORGET, {"visitor": token})["data"]["forgetVisitor"]
    assert again == {"ok": True, "removed": {"profiles": 0, "events": 0}, "errors": []}


# --- the admin's "Visitor data" page ---------------------------------------------------------------------

ADMIN_URL = "/admin/tailor/visitor-data/"


@pytest.fixture
def privacy_officer(client, django_user_model):
    user = django_user_model.objects.create_superuser("privacy", "privacy@example.com", "a-long-passphrase-1")
    client.force_login(user)
    return user


def test_the_visitor_data_page_is_in_the_tailor_menu_for_those_allowed(home_page, client, django_user_model):
    from django.contrib.auth.models import Group, Permission

    editor = django_user_model.objects.create_user("editor", password="another-long-passphrase")
    editor.groups.add(Group.objects.get(name="Editors"))
    client.force_login(editor)
    refused = client.get(ADMIN_URL)
    menu_without = client.get("/admin/").content.decode()
    editor.user_permissions.add(Permission.objects.get(codename="add_visitordatarequest"))
    editor = django_user_model.objects.get(pk=editor.pk)  # fresh permission cache
    client.force_login(editor)
    allowed = client.get(ADMIN_URL)
    menu_with = client.get("/admin/").content.decode()

    assert refused.status_code in (302, 403)
    assert allowed.status_code == 200 and "Visitor id or visitor token" in allowed.content.decode()
    assert "tailor-visitor-data" not in menu_without and "tailor-visitor-data" in menu_with


def test_an_admin_looks_a_visitor_up_exports_and_forgets_them_with_confirmation(
    home_page, gql, client, privacy_officer
):
    from wagtail.models import ModelLogEntry

    token = visit_and_convert(gql)["visitorToken"]
    visitor = read_visitor_token(token)

    looked_up = client.post(ADMIN_URL, {"visitor": visitor, "reference": "REQ-7", "action": "lookup"})
    by_token = client.post(ADMIN_URL, {"visitor": token, "action": "lookup"})
    bad = client.post(ADMIN_URL, {"visitor": "not a token!", "action": "lookup"})
    export = client.post(ADMIN_URL, {"visitor": token, "reference": "REQ-7", "action": "export"})
    unconfirmed = client.post(ADMIN_URL, {"visitor": visitor, "reference": "REQ-7", "action": "forget"})
    still_there = database_cells_holding(visitor)
    forgotten = client.post(ADMIN_URL, {"visitor": visitor, "reference": "REQ-7", "action": "forget", "confirm": "on"})

    assert '<li data-tailor-found="profiles">1 profile</li>' in looked_up.content.decode()
    assert '<li data-tailor-found="events">2 logged events</li>' in looked_up.content.decode()
    assert "2 logged events" in by_token.content.decode()
    assert "Not a visitor id or a valid visitor token" in bad.content.decode()
    assert export["Content-Type"] == "application/json" and "attachment" in export["Content-Disposition"]
    data = json.loads(export.content)
    assert data["visitorId"] == visitor and len(data["events"]) == 2
    assert "Tick the box to confirm the erasure." in unconfirmed.content.decode() and still_there
    assert forgotten.status_code == 302
    assert database_cells_holding(visitor) == []  # the audit trail included
    actions = dict(ModelLogEntry.objects.values_list("action", "data"))
    assert actions["tailor.visitor_data.export"] == {"reference": "REQ-7", "profiles": 1, "events": 2}
    assert actions["tailor.visitor_data.forget"]["reference"] == "REQ-7"
    assert actions["tailor.visitor_data.forget"]["events"] == 2
    history = client.get("/admin/reports/site-history/").content.decode()
    assert "Erased a visitor&#x27;s data" in history or "Erased a visitor's data" in history


def test_identify_visitor_refuses_bad_forwarded_headers_naming_the_field(home_page, gql):
    answer = gql(IDENTIFY, {"forwarded": [{"name": "Sec-GPC", "value": "1"}] * 41})

    assert answer["data"] is None or answer["data"]["identifyVisitor"] is None
    assert answer["errors"][0]["extensions"]["field"].startswith("forwardedHeaders")


def test_identify_visitor_without_a_signal_still_mints_and_keeps_tokens(home_page, gql):
    fresh = gql(IDENTIFY, {"forwarded": forwarded()})["data"]["identifyVisitor"]
    kept = gql(IDENTIFY, {"visitor": fresh["visitorToken"]})["data"]["identifyVisitor"]

    assert fresh["fresh"] is True and read_visitor_token(fresh["visitorToken"])
    assert kept == {"visitorToken": fresh["visitorToken"], "fresh": False, "warnings": []}
