"""The decision engine: plain Python, no Django. Slots, variants, policies, allocation, statistics."""

from .decide import DEFAULT_VARIANT, Decision, Evaluation, Slot, Variant, decide

__all__ = ["DEFAULT_VARIANT", "Decision", "Evaluation", "Slot", "Variant", "decide"]
