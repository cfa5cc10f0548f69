"""The Emotion condition: the emotion read from the visitor's text.

Fact ``emotion``: ``{"label": one of vocabulary.EMOTION_LABELS, "confidence": float in 0..1}``, from
the frontend or from the classifier (`rules.ml.emotion`) with personalization consent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .conditions import Condition, Outcome, register
from .context import Context
from .i18n import _, gettext_noop, join_or, pgettext
from .params import as_number, choice_list, number_param
from .vocabulary import EMOTION_LABELS, EMOTION_WORDS

#: an emotion as a description names it, in lower case ("Emotion is joy or surprise")
_EMOTION_NAMES = {
    "anger": lambda: pgettext("emotion", "anger"),
    "disgust": lambda: pgettext("emotion", "disgust"),
    "fear": lambda: pgettext("emotion", "fear"),
    "joy": lambda: pgettext("emotion", "joy"),
    "neutral": lambda: pgettext("emotion", "neutral"),
    "sadness": lambda: pgettext("emotion", "sadness"),
    "surprise": lambda: pgettext("emotion", "surprise"),
}


def emotion_name(label: str) -> str:
    name = _EMOTION_NAMES.get(label)
    return name() if name is not None else label


def _percent(share: float) -> str:
    return f"{share:.0%}"


@register
class Emotion(Condition):
    """The emotion read from the visitor's text is one of `labels`, with at least `min_confidence`."""

    type = "emotion"
    label = gettext_noop("Emotion")
    facts = ("emotion",)

    def __init__(self, labels: Sequence[str], min_confidence: float = 0.5):
        self.labels = tuple(labels)
        self.min_confidence = min_confidence

    @classmethod
    def from_params(cls, params, registry=None):
        return cls(
            choice_list(params, "labels", EMOTION_LABELS, noun=gettext_noop("emotion"), nouns=gettext_noop("emotions")),
            number_param(params, "min_confidence", minimum=0, maximum=1, default=0.5),
        )

    def to_params(self):
        return {"labels": list(self.labels), "min_confidence": self.min_confidence}

    def describe(self) -> str:
        return _("Emotion is %(emotions)s (confidence ≥ %(confidence)s)") % {
            "emotions": self._wanted(),
            "confidence": _percent(self.min_confidence),
        }

    def _wanted(self) -> str:
        return join_or([emotion_name(label) for label in self.labels])

    def evaluate(self, ctx: Context) -> Outcome:
        emotion = ctx.get("emotion")
        if not isinstance(emotion, Mapping):
            return self.unknown(_("emotion"))
        label = emotion.get("label")
        if not isinstance(label, str) or label.lower() not in EMOTION_LABELS:
            return self.unknown(_("emotion"))
        label = label.lower()
        word = _(EMOTION_WORDS[label])
        if label not in self.labels:
            return Outcome(False, _("%(observed)s, not %(wanted)s") % {"observed": word, "wanted": self._wanted()})
        confidence = as_number(emotion.get("confidence"))
        if confidence is None:
            return self.unknown(_("emotion confidence"))
        if confidence >= self.min_confidence:
            return Outcome(
                True,
                _("%(emotion)s (%(confidence)s confidence)") % {"emotion": word, "confidence": _percent(confidence)},
            )
        return Outcome(
            False,
            _("%(emotion)s at only %(confidence)s confidence (needs %(minimum)s)")
            % {"emotion": word, "confidence": _percent(confidence), "minimum": _percent(self.min_confidence)},
        )
