from wagtail import blocks, hooks

from cms.blocks import ConditionBlock
from rules.engine import Condition, ConditionError, Outcome

TIERS = ("bronze", "silver", "gold", "platinum")


class LoyaltyTier(Condition):
    """The site's own condition: the visitor's loyalty tier (a trait) is at least `minimum`."""

    type = "loyalty_tier"
    label = "Loyalty tier"
    facts = ("traits",)

    def __init__(self, minimum: str):
        if minimum not in TIERS:
            raise ConditionError("minimum", f"unknown tier {minimum!r}; use one of {', '.join(TIERS)}")
        self.minimum = minimum

    @classmethod
    def from_params(cls, params, registry=None):
        return cls(str(params.get("minimum") or ""))

    def to_params(self):
        return {"minimum": self.minimum}

    def describe(self) -> str:
        return f"Loyalty tier {self.minimum} or higher"

    def evaluate(self, ctx):
        tier = (ctx.get("traits") or {}).get("tier")
        if tier not in TIERS:
            return self.unknown("loyalty tier")
        return Outcome(TIERS.index(tier) >= TIERS.index(self.minimum), f"{self.describe()}: {tier}")


class LoyaltyTierBlock(ConditionBlock):
    condition_type = "loyalty_tier"
    minimum = blocks.CharBlock(max_length=20)

    class Meta:
        label = "Loyalty tier"


@hooks.register("register_tailor_conditions")
def register_loyalty(register):
    register(LoyaltyTier, LoyaltyTierBlock)
