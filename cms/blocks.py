"""StreamField blocks, importable from one place (the path the README documents).

    from cms.blocks import PersonalizedBlock

The personalized region lives in `variants.blocks`; condition blocks, and the base class a site's
own condition block subclasses, in `rules.blocks`.
"""

from rules.blocks import (
    CONDITION_BLOCKS,
    ConditionBlock,
    ConditionsBlock,
    conditions_spec,
    segment_choices,
)
from variants.blocks import (
    ButtonBlock,
    PersonalizedBlock,
    PolicyOptionsBlock,
    VariantBlock,
    default_content_blocks,
)

__all__ = [
    "CONDITION_BLOCKS",
    "ButtonBlock",
    "ConditionBlock",
    "ConditionsBlock",
    "PersonalizedBlock",
    "PolicyOptionsBlock",
    "VariantBlock",
    "conditions_spec",
    "default_content_blocks",
    "segment_choices",
]
