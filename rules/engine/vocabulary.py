"""The closed sets of values conditions and the context use, each defined once.

Blocks, forms, GraphQL enums, the weather provider and the emotion classifier derive their choices
from these tuples, so a value cannot be added in one place only. Labels are marked for translation
(`gettext_noop`) and translated where they are shown.
"""

from __future__ import annotations

from .i18n import gettext_noop

#: what the sky is doing (the weather provider maps WMO codes onto these)
WEATHER_CONDITIONS = ("clear", "clouds", "fog", "drizzle", "rain", "snow", "thunderstorm")
#: an editor's name for each, in choices
WEATHER_LABELS = {
    "clear": gettext_noop("Clear"),
    "clouds": gettext_noop("Clouds"),
    "fog": gettext_noop("Fog"),
    "drizzle": gettext_noop("Drizzle"),
    "rain": gettext_noop("Rain"),
    "snow": gettext_noop("Snow"),
    "thunderstorm": gettext_noop("Thunderstorm"),
}
#: how a reason says it ("Rainy in Seoul")
WEATHER_WORDS = {
    "clear": gettext_noop("Clear"),
    "clouds": gettext_noop("Cloudy"),
    "fog": gettext_noop("Foggy"),
    "drizzle": gettext_noop("Drizzly"),
    "rain": gettext_noop("Rainy"),
    "snow": gettext_noop("Snowy"),
    "thunderstorm": gettext_noop("Stormy"),
}
#: the coldest and hottest air temperatures ever measured, rounded outwards (°C)
MIN_TEMPERATURE_C, MAX_TEMPERATURE_C = -90, 60

#: Ekman's six basic emotions and neutral: what the classifier reads from text
EMOTION_LABELS = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")
EMOTION_NAMES = {
    "anger": gettext_noop("Anger"),
    "disgust": gettext_noop("Disgust"),
    "fear": gettext_noop("Fear"),
    "joy": gettext_noop("Joy"),
    "neutral": gettext_noop("Neutral"),
    "sadness": gettext_noop("Sadness"),
    "surprise": gettext_noop("Surprise"),
}
EMOTION_WORDS = {
    "anger": gettext_noop("Angry"),
    "disgust": gettext_noop("Disgusted"),
    "fear": gettext_noop("Fearful"),
    "joy": gettext_noop("Joyful"),
    "neutral": gettext_noop("Neutral"),
    "sadness": gettext_noop("Sad"),
    "surprise": gettext_noop("Surprised"),
}

#: device classes (`device.classify_device`); bots are a class so rules can target or exclude them
DEVICE_CLASSES = ("mobile", "tablet", "desktop", "bot")
#: the classes a person browses with (profiles and clustering ignore bots)
HUMAN_DEVICE_CLASSES = ("mobile", "tablet", "desktop")
DEVICE_LABELS = {
    "mobile": gettext_noop("Mobile"),
    "tablet": gettext_noop("Tablet"),
    "desktop": gettext_noop("Desktop"),
    "bot": gettext_noop("Bot"),
}
DEVICE_WORDS = {
    "mobile": gettext_noop("Mobile device"),
    "tablet": gettext_noop("Tablet"),
    "desktop": gettext_noop("Desktop"),
    "bot": gettext_noop("Bot or crawler"),
}

#: parts of the day (`time.daypart`): one definition for reasons, profiles and bandit buckets
DAYPARTS = ("morning", "afternoon", "evening", "night")
DAYPART_LABELS = {
    "morning": gettext_noop("Morning"),
    "afternoon": gettext_noop("Afternoon"),
    "evening": gettext_noop("Evening"),
    "night": gettext_noop("Night"),
}
DAY_NAMES = (
    gettext_noop("Monday"),
    gettext_noop("Tuesday"),
    gettext_noop("Wednesday"),
    gettext_noop("Thursday"),
    gettext_noop("Friday"),
    gettext_noop("Saturday"),
    gettext_noop("Sunday"),
)

#: what a page is for, in the Online Shoppers dataset's words (journeys, the conversion model)
PAGE_KINDS = ("administrative", "informational", "product")
PAGE_KIND_LABELS = {
    "administrative": gettext_noop("Administrative"),
    "informational": gettext_noop("Informational"),
    "product": gettext_noop("Product"),
}
#: where a journey's session came from
ENTRY_SOURCES = ("direct", "search", "social", "campaign", "referral", "unknown")
ENTRY_LABELS = {
    "direct": gettext_noop("Direct"),
    "search": gettext_noop("Search engine"),
    "social": gettext_noop("Social network"),
    "campaign": gettext_noop("Campaign"),
    "referral": gettext_noop("Another site"),
    "unknown": gettext_noop("Unknown"),
}
