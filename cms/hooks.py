"""Hooks Tailor defines for host sites.

``register_tailor_conditions``: add condition types (see `rules.blocks`, where the hook is run)::

    @hooks.register("register_tailor_conditions")
    def register_conditions(register):
        register(LoyaltyTier, LoyaltyTierBlock)

The block must subclass `cms.blocks.ConditionBlock` with ``condition_type`` equal to the condition's
``type`` and child blocks named after the condition's parameters.
"""

from rules.blocks import HOOK_NAME, load_condition_hooks, register_condition

__all__ = ["HOOK_NAME", "load_condition_hooks", "register_condition"]
