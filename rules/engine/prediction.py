"""Prediction at request time: conversion likelihood and the likely next section, in plain numpy.

No Django and no scikit-learn here. `rules.ml.predict` trains a gradient-boosted tree ensemble with
scikit-learn and exports it as arrays; `TreeModel` evaluates those arrays (every tree padded to a
complete binary tree of the same depth, so one request is `depth` vectorised steps over all trees)
and explains a prediction by each feature's share of the path (Saabas contributions), which is what
the reasons name ("12 product pages, 8 min").

Features follow the Online Shoppers dataset's schema (`FEATURES`), so a model can be checked on that
dataset and `session_features` turns a Tailor journey session into the same columns: the pages of
each kind and their dwell time, the bounce and exit rates and page value of the session's pages
(Tailor's own, from its logged sessions and conversions: `SiteTable`), the month, a returning
visitor and a weekend.

The ``conversion_likelihood`` fact holds a `Likelihood`; ``next_section`` a `NextSection`. Both exist
only with personalization consent and a journey, so without them the conditions are unknown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .conditions import Condition, ConditionError, Outcome, register
from .context import Context
from .i18n import _, fmt_number, gettext_noop, join_and, ngettext
from .journey import clean_section
from .params import number_param

#: the model's columns, named as in the Online Shoppers dataset (``Returning``: VisitorType is
#: Returning_Visitor; ``Month``: 1-12; ``Weekend``: 0/1)
FEATURES = (
    "Administrative",
    "Administrative_Duration",
    "Informational",
    "Informational_Duration",
    "ProductRelated",
    "ProductRelated_Duration",
    "BounceRates",
    "ExitRates",
    "PageValues",
    "Month",
    "Returning",
    "Weekend",
)
KIND_COLUMNS = {
    "administrative": ("Administrative", "Administrative_Duration"),
    "informational": ("Informational", "Informational_Duration"),
    "product": ("ProductRelated", "ProductRelated_Duration"),
}
MODEL_FORMAT = 1
MONTH_NAMES = (
    gettext_noop("January"),
    gettext_noop("February"),
    gettext_noop("March"),
    gettext_noop("April"),
    gettext_noop("May"),
    gettext_noop("June"),
    gettext_noop("July"),
    gettext_noop("August"),
    gettext_noop("September"),
    gettext_noop("October"),
    gettext_noop("November"),
    gettext_noop("December"),
)


class ModelError(ValueError):
    """Model arrays that cannot be evaluated."""


@dataclass(frozen=True)
class TreeModel:
    """A binary classifier: ``sigmoid(base + sum of the trees' leaf values)``.

    Arrays (complete trees of depth D, heap order, T trees, N = 2**D - 1 inner nodes, L = 2**D leaves):
    ``feature`` (T, N) int, ``threshold`` (T, N) float (x <= threshold goes left), ``leaf`` (T, L),
    ``node_value`` (T, N) the mean raw output under each inner node (for explanations), ``base``.
    """

    features: tuple[str, ...]
    feature: np.ndarray
    threshold: np.ndarray
    leaf: np.ndarray
    node_value: np.ndarray
    base: float
    depth: int
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        t, n = self.feature.shape
        if self.threshold.shape != (t, n) or self.node_value.shape != (t, n) or self.leaf.shape != (t, n + 1):
            raise ModelError("inconsistent tree array shapes")
        if n != 2**self.depth - 1:
            raise ModelError("trees are not complete binary trees of the stated depth")
        if t and (self.feature.min() < 0 or self.feature.max() >= len(self.features)):
            raise ModelError("a split names a feature the model does not have")
        rows = np.arange(t, dtype=np.intp)
        object.__setattr__(self, "_offsets", rows * n)
        object.__setattr__(self, "_leaf_offsets", rows * (n + 1))
        object.__setattr__(self, "_feature_flat", np.ascontiguousarray(self.feature, dtype=np.intp).ravel())
        object.__setattr__(self, "_threshold_flat", np.ascontiguousarray(self.threshold, dtype=np.float64).ravel())
        object.__setattr__(self, "_leaf_flat", np.ascontiguousarray(self.leaf, dtype=np.float64).ravel())

    # -- arrays in and out (the safe format: plain arrays, no pickle) --

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "feature": self.feature.astype(np.int16),
            "threshold": self.threshold.astype(np.float64),
            "leaf": self.leaf.astype(np.float64),
            "node_value": self.node_value.astype(np.float64),
            "base": np.array([self.base], dtype=np.float64),
            "depth": np.array([self.depth], dtype=np.int64),
            "format": np.array([MODEL_FORMAT], dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], features: Sequence[str], meta=None) -> TreeModel:
        try:
            if int(arrays["format"][0]) != MODEL_FORMAT:
                raise ModelError(f"model format {int(arrays['format'][0])} is not {MODEL_FORMAT}")
            return cls(
                tuple(features),
                np.asarray(arrays["feature"]).astype(np.intp),
                np.asarray(arrays["threshold"], dtype=np.float64),
                np.asarray(arrays["leaf"], dtype=np.float64),
                np.asarray(arrays["node_value"], dtype=np.float64),
                float(arrays["base"][0]),
                int(arrays["depth"][0]),
                dict(meta or {}),
            )
        except KeyError as e:
            raise ModelError(f"the model has no {e.args[0]!r} array") from None

    # -- evaluation --

    def _leaves(self, x: np.ndarray) -> np.ndarray:
        idx = np.zeros(len(self._offsets), dtype=np.intp)
        for _level in range(self.depth):
            flat = self._offsets + idx
            right = x[self._feature_flat[flat]] > self._threshold_flat[flat]
            idx = 2 * idx + 1 + right
        return idx - (2**self.depth - 1)

    def raw(self, x: np.ndarray) -> float:
        """The log-odds for one feature vector (float64, in `features` order)."""
        return self.base + float(self._leaf_flat[self._leaf_offsets + self._leaves(x)].sum())

    def probability(self, x: np.ndarray) -> float:
        return _sigmoid(self.raw(x))

    def raw_many(self, X: np.ndarray) -> np.ndarray:
        """Log-odds for a matrix of rows (training, evaluation, spreads)."""
        X = np.asarray(X, dtype=np.float64)
        t, n = self.feature.shape
        idx = np.zeros((X.shape[0], t), dtype=np.intp)
        trees = np.arange(t)
        for _level in range(self.depth):
            f = self.feature[trees, idx]
            right = np.take_along_axis(X, f, axis=1) > self.threshold[trees, idx]
            idx = 2 * idx + 1 + right
        return self.base + self.leaf[trees, idx - n].sum(axis=1)

    def probability_many(self, X: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.raw_many(X)))

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Each feature's contribution to the log-odds along the decision paths (Saabas)."""
        t, n = self.feature.shape
        out = np.zeros(len(self.features))
        idx = np.zeros(t, dtype=np.intp)
        trees = np.arange(t)
        for level in range(self.depth):
            f = self.feature[trees, idx]
            parent = self.node_value[trees, idx]
            child = 2 * idx + 1 + (x[f] > self.threshold[trees, idx])
            if level + 1 < self.depth:
                value = self.node_value[trees, child]
            else:
                value = self.leaf[trees, child - n]
            np.add.at(out, f, value - parent)
            idx = child
        return out


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


# --- Tailor sessions in the dataset's schema -----------------------------------------------------


@dataclass(frozen=True)
class SiteTable:
    """What Tailor learnt from its own logged sessions: per page id (page value, bounce rate, exit
    rate), the site-wide means for pages it has not seen, and section -> next section probabilities."""

    pages: Mapping[int, tuple[float, float, float]] = field(default_factory=dict)
    default: tuple[float, float, float] = (0.0, 0.0, 0.0)
    next_sections: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> SiteTable:
        data = data or {}
        pages = {int(k): tuple(float(x) for x in v) for k, v in (data.get("pages") or {}).items()}
        default = tuple(float(x) for x in data.get("default") or (0.0, 0.0, 0.0))
        nxt = {str(k): {str(a): float(p) for a, p in v.items()} for k, v in (data.get("next_sections") or {}).items()}
        return cls(pages, default, nxt)  # type: ignore[arg-type]

    def to_json(self) -> dict[str, Any]:
        return {
            "pages": {str(k): [round(x, 6) for x in v] for k, v in self.pages.items()},
            "default": [round(x, 6) for x in self.default],
            "next_sections": {k: dict(v) for k, v in self.next_sections.items()},
        }


def session_features(session: Mapping[str, Any], table: SiteTable, *, returning: bool) -> dict[str, float]:
    """One Tailor journey session as a row of the dataset's schema (`FEATURES`)."""
    row = dict.fromkeys(FEATURES, 0.0)
    for kind, (count_col, seconds_col) in KIND_COLUMNS.items():
        views, seconds = (session.get("kinds") or {}).get(kind, (0, 0))
        row[count_col] = float(views)
        row[seconds_col] = float(seconds)
    pages = list(dict.fromkeys(p for p in session.get("pages") or () if isinstance(p, int)))
    if pages or session.get("pages") == []:  # no page ids (a simulated journey): the site's average page
        stats = [table.pages.get(p, table.default) for p in pages] or [table.default]
        row["PageValues"] = float(sum(s[0] for s in stats) / len(stats))
        row["BounceRates"] = float(sum(s[1] for s in stats) / len(stats))
        row["ExitRates"] = float(sum(s[2] for s in stats) / len(stats))
    month = session.get("month")
    row["Month"] = float(month) if isinstance(month, int) and 1 <= month <= 12 else 0.0
    row["Returning"] = 1.0 if returning else 0.0
    row["Weekend"] = 1.0 if session.get("weekend") else 0.0
    return row


def vector(row: Mapping[str, float], features: Sequence[str] = FEATURES) -> np.ndarray:
    return np.array([float(row.get(name, 0.0)) for name in features], dtype=np.float64)


# --- the facts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Likelihood:
    """The ``conversion_likelihood`` fact: the probability and the strongest signals behind it."""

    probability: float
    signals: tuple[str, ...]

    def __str__(self) -> str:
        said = _("%(probability)s likely to convert") % {"probability": _percent(self.probability)}
        return f"{said} ({join_and(list(self.signals))})" if self.signals else said

    def as_dict(self) -> dict[str, Any]:
        return {"probability": round(self.probability, 4), "signals": list(self.signals)}


#: the features a reason names together ("13 product pages, 15 min")
SIGNAL_FAMILIES = (
    ("product", ("ProductRelated", "ProductRelated_Duration")),
    ("informational", ("Informational", "Informational_Duration")),
    ("administrative", ("Administrative", "Administrative_Duration")),
    ("value", ("PageValues",)),
    ("exits", ("ExitRates", "BounceRates")),
    ("returning", ("Returning",)),
    ("weekend", ("Weekend",)),
    ("month", ("Month",)),
)


def _minutes(seconds: float) -> str:
    return fmt_number(max(1, round(seconds / 60))) if seconds else "0"


def _signal(family: str, row: Mapping[str, float]) -> str | None:
    """How a reason names what the visitor did ("13 product pages, 15 min")."""
    if family in ("product", "informational", "administrative"):
        count_col, seconds_col = KIND_COLUMNS[family]
        n, seconds = int(row.get(count_col, 0)), row.get(seconds_col, 0.0)
        if family == "product":
            if not n:
                return _("no product pages")
            words = ngettext("%(count)d product page", "%(count)d product pages", n) % {"count": n}
        elif family == "informational":
            if not n:
                return _("no informational pages")
            words = ngettext("%(count)d informational page", "%(count)d informational pages", n) % {"count": n}
        else:
            if not n:
                return None  # no account pages is what most visits look like: not a reason
            words = ngettext("%(count)d account page", "%(count)d account pages", n) % {"count": n}
        return f"{words}, {_('%(minutes)s min') % {'minutes': _minutes(seconds)}}" if seconds else words
    if family == "value":
        v = row.get("PageValues", 0.0)
        return (
            _("pages worth %(value)s") % {"value": fmt_number(round(v, 1))}
            if v
            else _("pages that rarely lead to a conversion")
        )
    if family == "exits":
        return _("exit rate %(rate)s%%") % {"rate": fmt_number(round(row.get("ExitRates", 0.0) * 100, 1))}
    if family == "returning":
        return _("returning visitor") if row.get("Returning") else _("new visitor")
    if family == "weekend":
        return _("weekend") if row.get("Weekend") else _("weekday")
    month = int(row.get("Month", 0))
    return _("in %(month)s") % {"month": _(MONTH_NAMES[month - 1])} if 1 <= month <= 12 else None


def predict_likelihood(model: TreeModel, row: Mapping[str, float], *, signals: int = 3) -> Likelihood:
    """The probability for one row and the `signals` strongest reasons for it: the families of
    features (product pages and their minutes, page value, ...) pushing it furthest in the direction
    of the answer (up for a likely visitor, down for an unlikely one)."""
    x = vector(row, model.features)
    probability = model.probability(x)
    contrib = model.contributions(x)
    sign = 1.0 if probability >= 0.5 else -1.0
    index = {name: i for i, name in enumerate(model.features)}
    scored = sorted(
        ((sign * sum(contrib[index[c]] for c in cols if c in index), family) for family, cols in SIGNAL_FAMILIES),
        reverse=True,
    )
    words = []
    for score, family in scored:
        if score <= 0 or len(words) >= signals:
            break
        word = _signal(family, row)
        if word:
            words.append(word)
    return Likelihood(probability, tuple(words))


@dataclass(frozen=True)
class NextSection:
    """The ``next_section`` fact: where visitors who are where this visitor is go next."""

    current: str
    ranked: tuple[tuple[str, float], ...]  # (section, probability), "" = leaves the site

    def probability_of(self, section: str) -> float:
        return dict(self.ranked).get(section, 0.0)

    def __str__(self) -> str:
        ranked = ", ".join(f"{s or '(exit)'} {_percent(p)}" for s, p in self.ranked[:3])
        return f"{self.current} → {ranked}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.current,
            "next": [{"section": s or None, "probability": round(p, 3)} for s, p in self.ranked[:5]],
        }


def next_section(table: SiteTable, trail: Sequence[str]) -> NextSection | None:
    """The Markov transition row of the visitor's current section; None when it is not known."""
    if not trail:
        return None
    row = table.next_sections.get(trail[-1])
    if not row:
        return None
    ranked = tuple(sorted(row.items(), key=lambda kv: (-kv[1], kv[0])))
    return NextSection(trail[-1], ranked)


# --- conditions ---------------------------------------------------------------------------------


def _percent(p: float) -> str:
    return fmt_number(round(p * 100)) + "%"


@register
class LikelyToConvert(Condition):
    """The predicted probability that this session converts is at least `threshold` (0-1)."""

    type = "likely_to_convert"
    label = gettext_noop("Likely to convert")
    facts = ("conversion_likelihood",)

    def __init__(self, threshold: float):
        self.threshold = threshold

    @classmethod
    def from_params(cls, params, registry=None):
        threshold = number_param(params, "threshold", minimum=0.01, maximum=0.99, default=0.5)
        return cls(float(threshold))

    def to_params(self):
        return {"threshold": self.threshold}

    def describe(self) -> str:
        return _("Likely to convert (at least %(threshold)s)") % {"threshold": _percent(self.threshold)}

    def evaluate(self, ctx: Context) -> Outcome:
        likely = ctx.get("conversion_likelihood")
        if not isinstance(likely, Likelihood):
            return self.unknown(_("conversion likelihood (needs personalization consent and a journey)"))
        said = str(likely)
        if likely.probability >= self.threshold:
            return Outcome(True, said)
        return Outcome(
            False,
            _("%(observed)s; wants at least %(threshold)s") % {"observed": said, "threshold": _percent(self.threshold)},
        )


@register
class LikelyNextSection(Condition):
    """Visitors who are where this visitor is go to `section` next with at least `min_probability`."""

    type = "likely_next_section"
    label = gettext_noop("Likely next section")
    facts = ("next_section",)

    def __init__(self, section: str, min_probability: float):
        self.section, self.min_probability = section, min_probability

    @classmethod
    def from_params(cls, params, registry=None):
        raw = params.get("section")
        section = clean_section(raw) if isinstance(raw, str) else None
        if not section:
            raise ConditionError("section", _("name the section (e.g. 'pricing')"))
        return cls(section, float(number_param(params, "min_probability", minimum=0.01, maximum=1, default=0.3)))

    def to_params(self):
        return {"section": self.section, "min_probability": self.min_probability}

    def describe(self) -> str:
        return _("Likely to visit %(section)s next (at least %(p)s)") % {
            "section": self.section,
            "p": _percent(self.min_probability),
        }

    def evaluate(self, ctx: Context) -> Outcome:
        nxt = ctx.get("next_section")
        if not isinstance(nxt, NextSection):
            return self.unknown(_("next section (needs personalization consent and a known section)"))
        p = nxt.probability_of(self.section)
        said = _("%(p)s of visitors in %(current)s go to %(section)s next") % {
            "p": _percent(p),
            "current": nxt.current,
            "section": self.section,
        }
        if p >= self.min_probability:
            return Outcome(True, said)
        return Outcome(
            False,
            _("%(observed)s; wants at least %(threshold)s")
            % {"observed": said, "threshold": _percent(self.min_probability)},
        )
