"""Warnings for the variants of a personalized region, while an editor edits them.

The page editor's script (`tailor_cms/js/editor.js`) posts the region as the form holds it (policy,
and per variant its id, name, whether it has content, how its conditions combine and the conditions'
values); `variant_warnings` answers, per variant, what an editor should know before publishing:

- *incomplete*: no name or no content. Visitors never see it (`variants.compiler` skips it), so it
  never counts as matched, in the Simulator or anywhere else.
- *never matches*: its conditions contradict each other ("Rain" and "not Rain").
- under Rules, where the first matching variant wins:
  - *identical*: the same conditions as an earlier variant;
  - *shadowed*: every visitor it targets also matches an earlier variant, proven by the engine
    (`rules.engine.implication`); said only when proven, so "may never win" is never a guess;
  - *everyone first*: no conditions (matches everyone) and variants after it, which never win.

Warnings never block saving; the editor shows them at the variant.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_POST
from wagtail import blocks

from rules.blocks import ConditionsBlock, conditions_spec, load_condition_hooks
from rules.engine import Condition, ConditionError, registry
from rules.engine.implication import canonical, implies, never_matches
from variants.blocks import variant_is_complete
from variants.engine.vocabulary import POLICY_RULES, SLOT_POLICIES

MAX_BODY = 256 * 1024
MAX_VARIANTS = 50
MAX_CONDITIONS = 50

_conditions_block = ConditionsBlock()


@dataclass
class Draft:
    """One variant as the editor holds it."""

    id: str
    name: str
    has_content: bool
    condition: Condition | None = None
    #: its conditions could not be read (a required field is empty, a value is invalid): not judged
    unreadable: bool = False
    summary: str = ""
    warnings: list[dict[str, str]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return variant_is_complete({"name": self.name, "content": [1] if self.has_content else []})

    def warn(self, code: str, badge: str, message: str) -> None:
        self.warnings.append({"code": code, "badge": badge, "message": message})


class BadInput(ValueError):
    pass


def _raw_condition(item: Any) -> dict[str, Any]:
    """A condition as stored (`get_prep_value`), from the editor's form values; ValidationError if a
    field cannot be read."""
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        raise BadInput("each condition needs a type")
    block = _conditions_block.child_blocks.get(item["type"])
    if block is None:
        raise ValidationError("unknown condition type")
    values = item.get("value") if isinstance(item.get("value"), dict) else {}
    raw = {}
    for name, child in block.child_blocks.items():
        value = values.get(name)
        if isinstance(child, blocks.FieldBlock):
            value = child.field.clean(value if value is not None else "")
        raw[name] = child.get_prep_value(value)
    return {"type": item["type"], "value": raw}


def _summary(raw_items: list[dict[str, Any]], match: str) -> str:
    parts = []
    for item in raw_items:
        block = _conditions_block.child_blocks.get(item["type"])
        parts.append(block.summarize(item["value"]) if block is not None else item["type"])
    separator = gettext(" or ") if match == "any" else gettext(" · ")
    return separator.join(p for p in parts if p)


def read_drafts(data: Any) -> tuple[str, list[Draft]]:
    if not isinstance(data, dict):
        raise BadInput("expected a JSON object")
    policy = data.get("policy") or POLICY_RULES
    if policy not in SLOT_POLICIES:
        raise BadInput(f"unknown policy {policy!r}")
    variants = data.get("variants")
    if not isinstance(variants, list) or len(variants) > MAX_VARIANTS:
        raise BadInput(f"variants: expected a list of at most {MAX_VARIANTS}")
    load_condition_hooks()
    drafts = []
    for index, item in enumerate(variants):
        if not isinstance(item, dict):
            raise BadInput("each variant must be an object")
        conditions = item.get("conditions") or []
        if not isinstance(conditions, list) or len(conditions) > MAX_CONDITIONS:
            raise BadInput(f"conditions: expected a list of at most {MAX_CONDITIONS}")
        name = item.get("name") if isinstance(item.get("name"), str) else ""
        draft = Draft(id=str(item.get("id") or index), name=name.strip(), has_content=bool(item.get("content")))
        match = "any" if item.get("match") == "any" else "all"
        try:
            raw_items = [_raw_condition(c) for c in conditions]
            spec = conditions_spec(raw_items, match)
            draft.condition = registry.build(spec) if spec else None
            draft.summary = _summary(raw_items, match)
        except (ValidationError, ConditionError):
            draft.unreadable = True
        drafts.append(draft)
    return policy, drafts


def variant_warnings(policy: str, drafts: list[Draft]) -> list[Draft]:
    """Fill in each draft's warnings (see the module docstring)."""
    for draft in drafts:
        if not draft.name:
            draft.warn(
                "incomplete",
                gettext("Incomplete"),
                gettext("Give it a name: visitors never see a variant without a name and content."),
            )
        if not draft.has_content:
            draft.warn(
                "incomplete",
                gettext("Incomplete"),
                gettext("Add content: visitors never see a variant without a name and content."),
            )
        if not draft.unreadable and never_matches(draft.condition):
            draft.warn(
                "never_matches",
                gettext("Never matches"),
                gettext("Its conditions contradict each other: no visitor can match them all."),
            )
    if policy != POLICY_RULES:
        return drafts

    earlier: list[tuple[int, Draft]] = []  # the variants visitors can see, in order
    for draft in drafts:
        if not draft.complete or draft.unreadable:
            continue  # never shown, so it hides nothing; or not readable yet, so not judged
        for number, first in earlier:
            words = {"other": first.name, "number": number, "summary": first.summary or gettext("Everyone")}
            if canonical(first.condition) == canonical(draft.condition):
                draft.warn(
                    "identical",
                    gettext("Same as #%(number)s") % words,
                    gettext(
                        "Same conditions as “%(other)s” (#%(number)s), which comes first: "
                        "under Rules this variant never wins."
                    )
                    % words,
                )
                break
            if implies(draft.condition, first.condition):
                draft.warn(
                    "shadowed",
                    gettext("May never win"),
                    gettext(
                        "May never win: every visitor it targets also matches “%(other)s” "
                        "(#%(number)s: %(summary)s), which comes first under Rules."
                    )
                    % words,
                )
                break
        earlier.append((len(earlier) + 1, draft))

    shown = [d for _, d in earlier]
    for position, draft in enumerate(shown):
        later = len(shown) - position - 1
        if draft.condition is None and later:
            draft.warn(
                "everyone_first",
                gettext("Hides later variants"),
                ngettext(
                    "No conditions: it matches everyone, so under Rules the variant after it never wins. "
                    "Move it last, or give it conditions.",
                    "No conditions: it matches everyone, so under Rules the %(count)d variants after it "
                    "never win. Move it last, or give it conditions.",
                    later,
                )
                % {"count": later},
            )
    return drafts


@require_POST
def editor_checks(request: HttpRequest) -> JsonResponse:
    """POST the region's variants as JSON; answers ``{"variants": {id: {"warnings": [...]}}}``."""
    user = request.user
    if not user.is_authenticated or not user.has_perm("wagtailadmin.access_admin"):
        return JsonResponse({"errors": [gettext("Sign in to the admin to check variants.")]}, status=403)
    if len(request.body) > MAX_BODY:
        return JsonResponse({"errors": [gettext("Too large to check.")]}, status=400)
    try:
        policy, drafts = read_drafts(json.loads(request.body or b"null"))
    except (ValueError, BadInput) as e:  # json.JSONDecodeError is a ValueError
        return JsonResponse({"errors": [str(e)]}, status=400)
    variant_warnings(policy, drafts)
    return JsonResponse(
        {"variants": {d.id: {"warnings": d.warnings, "summary": d.summary, "complete": d.complete} for d in drafts}}
    )
