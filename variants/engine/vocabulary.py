"""The closed sets of values the decision engine uses, each defined once.

Blocks, GraphQL enums, models and the admin derive their choices from these, so a value cannot be
added in one place only. Labels are marked for translation (`gettext_noop`) and translated where
they are shown.
"""

from __future__ import annotations

from rules.engine.i18n import gettext_noop

#: the variant id of a slot's default content
DEFAULT_VARIANT = "default"
#: the bucket recorded on decisions made while the slot's experiment is paused (their events are
#: logged but count neither for the arm stats nor for the experiment's review)
PAUSED_BUCKET = "paused"
#: the breakdown dimensions a decision records for reviews (coarse: no identity), in token order
BREAKDOWN_DIMENSIONS = ("device", "daypart", "segment")
#: at most this many of a visitor's segments are recorded for the segment breakdown
BREAKDOWN_MAX_SEGMENTS = 5

POLICY_DEFAULT = "DEFAULT"
POLICY_RULES = "RULES"
POLICY_AB = "AB"
POLICY_BANDIT = "BANDIT"
POLICY_CONTEXTUAL = "CONTEXTUAL"
#: every policy a decision can carry (DEFAULT: no variant matched)
POLICIES = (POLICY_DEFAULT, POLICY_RULES, POLICY_AB, POLICY_BANDIT, POLICY_CONTEXTUAL)
#: the policies an editor can give a slot
SLOT_POLICIES = (POLICY_RULES, POLICY_AB, POLICY_BANDIT, POLICY_CONTEXTUAL)
#: policies that split traffic by allocation weights
WEIGHTED_POLICIES = (POLICY_AB, POLICY_BANDIT, POLICY_CONTEXTUAL)
#: policies that learn from events (they have learning options)
LEARNING_POLICIES = (POLICY_BANDIT, POLICY_CONTEXTUAL)
#: a policy's short name
POLICY_LABELS = {
    POLICY_DEFAULT: gettext_noop("Default"),
    POLICY_RULES: gettext_noop("Rules (first match)"),
    POLICY_AB: gettext_noop("A/B split"),
    POLICY_BANDIT: gettext_noop("Bandit"),
    POLICY_CONTEXTUAL: gettext_noop("Contextual bandit"),
}
#: what choosing it means, for the editor picking one
POLICY_HELP = {
    POLICY_RULES: gettext_noop("Rules: the first variant whose conditions match"),
    POLICY_AB: gettext_noop("A/B: fixed split by weight among the matching variants"),
    POLICY_BANDIT: gettext_noop("Bandit: learn which matching variant converts best"),
    POLICY_CONTEXTUAL: gettext_noop("Contextual bandit: learn the best variant per audience"),
}

#: bandit algorithms (`policies.ALGORITHM_CLASSES` maps each to its class)
ALGORITHMS = ("thompson", "top_two", "ucb1", "epsilon_greedy")
DEFAULT_ALGORITHM = "thompson"
#: how reasons name them ("Exploring: 12% share (Thompson sampling)")
ALGORITHM_NAMES = {
    "thompson": gettext_noop("Thompson sampling"),
    "top_two": gettext_noop("top-two Thompson sampling"),
    "ucb1": gettext_noop("UCB1"),
    "epsilon_greedy": gettext_noop("ε-greedy"),
}
#: what choosing one means, for the editor
ALGORITHM_HELP = {
    "thompson": gettext_noop("Thompson sampling (recommended)"),
    "top_two": gettext_noop("Top-two Thompson sampling: tells close variants apart faster"),
    "ucb1": gettext_noop("UCB1"),
    "epsilon_greedy": gettext_noop("ε-greedy: 10% of traffic explores evenly"),
}

#: what a contextual bandit may learn a separate best variant for
SPLIT_ATTRIBUTES = ("segment", "device", "daypart", "weekday", "country")
DEFAULT_SPLIT = ("segment",)
SPLIT_LABELS = {
    "segment": gettext_noop("Segment"),
    "device": gettext_noop("Device"),
    "daypart": gettext_noop("Time of day (morning, afternoon, evening, night)"),
    "weekday": gettext_noop("Weekday or weekend"),
    "country": gettext_noop("Country"),
}

#: what a frontend reports against a decision token
KIND_IMPRESSION = "impression"
KIND_CLICK = "click"
KIND_CONVERSION = "conversion"
EVENT_KINDS = (KIND_IMPRESSION, KIND_CLICK, KIND_CONVERSION)
EVENT_KIND_LABELS = {
    KIND_IMPRESSION: gettext_noop("Impression"),
    KIND_CLICK: gettext_noop("Click"),
    KIND_CONVERSION: gettext_noop("Conversion"),
}
#: what a learning slot counts as success
REWARDS = (KIND_CONVERSION, KIND_CLICK)
REWARD_LABELS = {KIND_CONVERSION: gettext_noop("Conversions"), KIND_CLICK: gettext_noop("Clicks")}

#: the slot-wide stats and allocation bucket (contextual bandits add per-audience ones)
GLOBAL_BUCKET = "*"
