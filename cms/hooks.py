"""Hooks Tailor defines for host sites.

``register_tailor_conditions``: add condition types. The hook function receives a ``register``
callable taking the engine condition class and the block editors use to configure it::

    @hooks.register("register_tailor_conditions")
    def register_conditions(register):
        register(LoyaltyTier, LoyaltyTierBlock)

The block must subclass `cms.blocks.ConditionBlock` with ``condition_type`` equal to the condition's
``type`` and child blocks named after the condition's parameters.
"""

from __future__ import annotations

import threading

from wagtail import hooks

from rules.engine import registry as condition_registry

_loaded = False
_lock = threading.Lock()


def register_condition(condition_cls, block_cls) -> None:
    from cms.blocks import CONDITION_BLOCKS

    if block_cls.condition_type != condition_cls.type:
        raise ValueError(
            f"{block_cls.__name__}.condition_type {block_cls.condition_type!r} "
            f"does not match {condition_cls.__name__}.type {condition_cls.type!r}"
        )
    condition_registry.register(condition_cls)
    CONDITION_BLOCKS[condition_cls.type] = block_cls


def load_condition_hooks() -> None:
    """Run every `register_tailor_conditions` hook once per process."""
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        for fn in hooks.get_hooks("register_tailor_conditions"):
            fn(register_condition)
        _loaded = True
