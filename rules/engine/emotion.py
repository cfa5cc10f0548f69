"""The Emotion condition: the emotion read from the visitor's text.

Fact ``emotion``: ``{"label": one of vocabulary.EMOTION_LABELS, "confidence": float in 0..1}``, from
the frontend or from the classifier (`rules.ml.emotion`) with personalization consent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .conditions import Condition, Outcome, register
from .context import Context
from .i18n import _, join_or
from .params import as_number, choice_list, number_param
from .vocabulary import EMOTION_LABELS, EMOTION_WORDS


@register
class Emotion(Condition):
    """The emotion read from the visitor's text is one of `labels`, with at least `min_confidence`."""

    type = "emotion"
    label = "Emotion"
    facts = ("emotion",)

    def __init__(self, labels: Sequence[str], min_confidence: float = 0.5):
        self.labels = tuple(labels)
        self.min_confidence = min_confidence

    @classmethod
    def from_params(cls, params, registry=None):
        return cls(
            choice_list(params, "labels", EMOTION_LABELS, noun="emotion"),
            number_param(params, "min_confidence", minimum=0, maximum=1, default=0.5),
        )

    def to_params(self):
        return {"labels": list(self.labels), "min_confidence": self.min_confidence}

    def describe(self) -> str:
        return f"Emotion is {join_or(self.labels)} (confidence ≥ {self.min_confidence:.0%})"

    def evaluate(self, ctx: Context) -> Outcome:
        emotion = ctx.get("emotion")
        if not isinstance(emotion, Mapping):
            return self.unknown("emotion")
        label = emotion.get("label")
        if not isinstance(label, str) or label.lower() not in EMOTION_LABELS:
            return self.unknown("emotion")
        label = label.lower()
        word = _(EMOTION_WORDS[label])
        if label not in self.labels:
            return Outcome(False, f"{word}, not {join_or(self.labels)}")
        confidence = as_number(emotion.get("confidence"))
        if confidence is None:
            return self.unknown("emotion confidence")
        if confidence >= self.min_confidence:
            return Outcome(True, f"{word} ({confidence:.0%} confidence)")
        return Outcome(False, f"{word} at only {confidence:.0%} confidence (needs {self.min_confidence:.0%})")
