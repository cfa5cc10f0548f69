"""Service functions: the one way the API, the admin and commands reach the decision engine."""

from __future__ import annotations

from dataclasses import dataclass, field

from rules.engine import Context
from variants.compiler import CompiledPage, compile_page, compiled_page
from variants.engine import Decision, decide
from variants.tokens import sign_decision


@dataclass
class PagePersonalization:
    page: object
    compiled: CompiledPage
    context: Context
    decisions: list[Decision]
    tokens: dict[str, str] = field(default_factory=dict)
    visitor_id: str | None = None

    def decision_for(self, slot_id: str) -> Decision | None:
        for d in self.decisions:
            if d.slot_id == slot_id:
                return d
        return None

    @property
    def facts_used(self) -> list[str]:
        return sorted(frozenset().union(*(d.facts for d in self.decisions)))

    @property
    def cache_key(self) -> str:
        """Identifies the response for a cache: page revision, chosen variants, dimensions used."""
        revision = self.compiled.revision[0] if self.compiled.revision else None
        chosen = ";".join(f"{d.slot_name}={d.variant_id}" for d in self.decisions)
        return f"page:{self.compiled.page_id}@{revision}|{chosen}|dims:{','.join(self.facts_used)}"


def personalize_page(
    page, ctx: Context, *, visitor_id: str | None = None, preview: bool = False
) -> PagePersonalization:
    """Decide every slot of `page` for `ctx`. Runs no SQL (compiled slots are cached per revision).

    `preview` compiles the page as given (unsaved content), explains every variant and signs no
    tokens, so a preview can never be counted as an impression.
    """
    compiled = compile_page(page) if preview else compiled_page(page)
    decisions = [decide(slot, ctx, explain_all=preview) for slot in compiled.slots]
    result = PagePersonalization(page, compiled, ctx, decisions, visitor_id=visitor_id)
    if not preview:
        result.tokens = {
            d.slot_id: sign_decision(d, page_id=compiled.page_id, visitor_id=visitor_id) for d in decisions
        }
    return result
