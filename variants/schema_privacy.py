"""GraphQL for the visitor's data rights: `exportVisitorData` (query) and `forgetVisitor` (mutation),
both bound to the visitor's own signed token. Translation only: the work is `variants.privacy`'s."""

from __future__ import annotations

import graphene
from graphql import GraphQLError

from rules.schema import JSON
from tailor.signing import TokenError, read_visitor_token
from variants import privacy


class VisitorDataExport(graphene.ObjectType):
    """Everything Tailor keeps keyed to the visitor. Never stored, so never here: IP address,
    User-Agent, text signals. Arm stats and hourly aggregates are counts over everyone (no visitor id)."""

    visitor_id = graphene.String(required=True)
    exported_at = graphene.String(required=True, description="ISO 8601")
    consent = graphene.Field(JSON, description="{personalization, analytics} as stored with setConsent; null: none")
    profile = graphene.Field(JSON, description="The stored profile; null when none is kept")
    events = graphene.List(graphene.NonNull(JSON), required=True, description="Logged events (analytics consent)")
    data = graphene.Field(JSON, required=True, description="The whole export as one JSON document")

    @staticmethod
    def resolve_visitor_id(data, info):
        return data["visitorId"]

    @staticmethod
    def resolve_exported_at(data, info):
        return data["exportedAt"]

    @staticmethod
    def resolve_consent(data, info):
        return data["consent"]

    @staticmethod
    def resolve_profile(data, info):
        return data["profile"]

    @staticmethod
    def resolve_events(data, info):
        return data["events"]

    @staticmethod
    def resolve_data(data, info):
        return data


def _visitor(token: str) -> str:
    return read_visitor_token(token)


def resolve_export_visitor_data(root, info, visitor_token):
    info.context.tailor_private = True  # per visitor: never cached as shared
    try:
        visitor_id = _visitor(visitor_token)
    except TokenError as e:
        raise GraphQLError(f"visitorToken: {e.message}", extensions={"field": "visitorToken"}) from None
    return privacy.export_visitor_data(visitor_id)


export_visitor_data_field = graphene.Field(
    VisitorDataExport,
    visitor_token=graphene.String(required=True, description="The visitor's own token"),
    resolver=resolve_export_visitor_data,
    description="Everything Tailor keeps about the visitor whose token this is, as JSON (the right of access).",
)


class ForgottenData(graphene.ObjectType):
    profiles = graphene.Int(required=True, description="Profiles removed (0 or 1 per store)")
    events = graphene.Int(required=True, description="Logged events removed")


class ForgetVisitorPayload(graphene.ObjectType):
    ok = graphene.Boolean(required=True)
    removed = graphene.Field(ForgottenData)
    errors = graphene.List(graphene.NonNull("cms.graphql_types.FieldError"), required=True)


class ForgetVisitor(graphene.Mutation):
    """Erase everything Tailor keeps keyed to the visitor whose token this is: the profile (with the
    consent stored in it) and the logged events. Anonymous counts (arm stats, hourly aggregates) stay.
    Safe to repeat. The token stays valid but no longer leads anywhere: drop the cookie."""

    class Arguments:
        visitor_token = graphene.String(required=True)

    Output = ForgetVisitorPayload

    @staticmethod
    def mutate(root, info, visitor_token):
        info.context.tailor_private = True
        try:
            visitor_id = _visitor(visitor_token)
        except TokenError as e:
            return ForgetVisitorPayload(ok=False, errors=[{"field": "visitorToken", "message": e.message}])
        result = privacy.forget_visitor(visitor_id)
        return ForgetVisitorPayload(
            ok=True,
            removed={"profiles": result.profiles, "events": result.events + result.stream_entries},
            errors=[],
        )
