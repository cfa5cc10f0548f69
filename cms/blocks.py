"""StreamField blocks, importable from one place (the path the README documents).

    from cms.blocks import PersonalizedBlock

The personalized region lives in `variants.blocks`; condition blocks, and the base class a site's
own condition block subclasses, in `rules.blocks`. A site's condition block says how it reads when
collapsed in the editor with `summaries` (see `Summary`), e.g.
``summaries = (Summary(_("Tier %(minimum)s or higher")),)``; without them it reads as its values.
"""

from rules.blocks import (
    CONDITION_BLOCKS,
    ConditionBlock,
    ConditionsBlock,
    Summary,
    conditions_spec,
    segment_choices,
)
from variants.blocks import (
    ButtonBlock,
    PersonalizedBlock,
    PolicyOptionsBlock,
    VariantBlock,
    default_content_blocks,
    variant_is_complete,
)

__all__ = [
    "CONDITION_BLOCKS",
    "ButtonBlock",
    "ConditionBlock",
    "ConditionsBlock",
    "PersonalizedBlock",
    "PolicyOptionsBlock",
    "Summary",
    "VariantBlock",
    "conditions_spec",
    "default_content_blocks",
    "segment_choices",
    "variant_is_complete",
]
