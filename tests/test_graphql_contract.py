"""The public contract: the exported SDL matches the live schema, and every operation document runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from graphql import parse, validate

from cms.management.commands.tailor_export_schema import schema_sdl

ROOT = Path(__file__).resolve().parent.parent
OPERATIONS = sorted((ROOT / "graphql" / "operations").glob("*.graphql"))


def own_visitor_token(gql) -> dict:
    """A real visitor's token (the data-rights operations only open the visitor's own data)."""
    answer = gql("mutation { identifyVisitor { visitorToken } }")
    return {"visitorToken": answer["data"]["identifyVisitor"]["visitorToken"]}


# Variables each operation document is run with (a new document needs an entry here); a callable
# makes them with the test's GraphQL client.
VARIABLES = {
    "personalized_page.graphql": {
        "urlPath": "/",
        "inSite": True,
        "context": {"timezone": "Asia/Seoul", "now": "2026-11-30T08:00:00+09:00"},
    },
    # not a real token: the payload says so (ok: false, errors), which is still data, not an error
    "record_event.graphql": {"token": "not-a-decision-token", "kind": "IMPRESSION"},
    "page_content.graphql": {"urlPath": "/", "inSite": True},
    "page_decisions.graphql": {
        "urlPath": "/",
        "inSite": True,
        "context": {"timezone": "Asia/Seoul", "now": "2026-11-30T08:00:00+09:00"},
        "recordVisit": False,
    },
    "identify_visitor.graphql": {},
    "set_consent.graphql": {"personalization": True, "analytics": False},
    "export_visitor_data.graphql": own_visitor_token,
    "forget_visitor.graphql": own_visitor_token,
}


def test_exported_schema_matches_the_live_schema():
    exported = (ROOT / "graphql" / "schema.graphql").read_text(encoding="utf-8")

    assert exported == schema_sdl(), "graphql/schema.graphql is stale: run `make schema` and commit it"


def test_export_command_writes_the_sdl(tmp_path):
    out = tmp_path / "schema.graphql"

    call_command("tailor_export_schema", out=str(out), stdout=open("/dev/null", "w"))

    assert out.read_text(encoding="utf-8") == schema_sdl()
    assert re.search(r"personalizedPage\(\s*urlPath: String!", out.read_text(encoding="utf-8"))


def test_there_are_operation_documents():
    assert [p.name for p in OPERATIONS] == sorted(VARIABLES)


@pytest.mark.parametrize("document", OPERATIONS, ids=lambda p: p.name)
def test_operation_document_is_valid_and_runs_without_errors(document, home_page, gql):
    from grapple.schema import schema

    source = document.read_text(encoding="utf-8")
    assert validate(schema.graphql_schema, parse(source)) == []

    variables = VARIABLES[document.name]
    result = gql(source, variables(gql) if callable(variables) else variables)

    assert "errors" not in result, result["errors"]
    assert all(value is not None for value in result["data"].values())
