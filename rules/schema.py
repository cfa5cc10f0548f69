"""GraphQL types for the request context: what a client may send, and what was used."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import graphene

from rules.engine import Context


class ContextInput(graphene.InputObjectType):
    """What the frontend knows about the visitor. Everything is optional; unknown stays unknown."""

    timezone = graphene.String(description="IANA timezone of the visitor, e.g. 'Asia/Seoul'")
    now = graphene.DateTime(
        description="The instant to decide for (ISO 8601). Without an offset it is read as the "
        "visitor's wall-clock time in `timezone`. Defaults to the server clock."
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(_jsonable(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


class ContextFact(graphene.ObjectType):
    name = graphene.String(required=True)
    value = graphene.JSONString(required=True)
    source = graphene.String(required=True, description="input, header, provider, profile or server")
    detail = graphene.String()

    @staticmethod
    def resolve_value(fact, info):
        return _jsonable(fact.value)


class ResolvedContext(graphene.ObjectType):
    """The context the decisions were made with, each fact with its source."""

    timezone = graphene.String()
    now = graphene.DateTime(required=True)
    local_time = graphene.DateTime(description="`now` on the visitor's wall clock, when the timezone is known")
    facts = graphene.List(graphene.NonNull(ContextFact), required=True)

    @staticmethod
    def resolve_timezone(ctx: Context, info):
        return ctx.get("timezone")

    @staticmethod
    def resolve_now(ctx: Context, info):
        return ctx.get("now")

    @staticmethod
    def resolve_local_time(ctx: Context, info):
        return ctx.local_now()

    @staticmethod
    def resolve_facts(ctx: Context, info):
        return sorted(ctx.facts(), key=lambda f: f.name)
