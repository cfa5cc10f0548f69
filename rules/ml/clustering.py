"""Discovered segments: k-means over consented visitors' behaviour, summarised in plain language.

Features per profile (see `rules.profiles.Profile.features`): log visit count, device shares, time-of-day
shares and the share of views in each of the site's busiest sections. They are standardized; k is
given or picked by silhouette score. Each cluster keeps its centre (standardized) and the run's other
centres, so membership at request time is "nearest centre of that run" and needs no model file.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rules.engine.i18n import _, join_and, list_separator, pgettext

# How a summary words a cluster's dominant device and time of day, in the language active when the
# segments are discovered (the summary is stored with the segment).
DEVICE_WORDS = {
    "mobile": lambda: pgettext("device", "mobile"),
    "tablet": lambda: pgettext("device", "tablet"),
    "desktop": lambda: pgettext("device", "desktop"),
}
DAYPART_WORDS = {
    "morning": lambda: _("mornings"),
    "afternoon": lambda: _("afternoons"),
    "evening": lambda: _("evenings"),
    "night": lambda: _("late nights"),
}


@dataclass(frozen=True)
class DiscoveredCluster:
    index: int
    size: int
    summary: str
    center: list[float]
    raw_center: dict[str, float]


@dataclass(frozen=True)
class Discovery:
    run: str
    features: list[str]
    mean: list[float]
    scale: list[float]
    centers: list[list[float]]
    clusters: list[DiscoveredCluster]

    def cluster_json(self, index: int) -> dict:
        return {
            "run": self.run,
            "features": self.features,
            "mean": self.mean,
            "scale": self.scale,
            "centers": self.centers,
            "index": index,
        }


def busiest_sections(profiles: Sequence, limit: int) -> list[str]:
    totals: Counter[str] = Counter()
    for p in profiles:
        totals.update(p.sections)
    return [s for s, _count in totals.most_common(limit)]


def visits_words(visits: Sequence[int]) -> str:
    """How many times a cluster's members came, in words that hold for most of them.

    The central 80% of the members' visit counts decide (the 10th to the 90th percentile), so a
    group that mixes first-time visitors with ones who came 3 to 6 times reads "1–6 visits", not
    "first visit" (which a median of 1 would say of a group that is 40% regulars)."""
    counts = sorted(max(1, int(v)) for v in visits) or [1]
    low = counts[int(0.1 * (len(counts) - 1))]
    high = counts[math.ceil(0.9 * (len(counts) - 1))]
    if high <= 1:
        return _("first visit")
    if low == high:
        return pgettext("segment summary", "returning") if low == 2 else _("%(n)s visits") % {"n": low}
    if high >= 10:
        return _("%(low)s+ visits") % {"low": low} if low >= 2 else _("1 to 10+ visits")
    return _("%(low)s–%(high)s visits") % {"low": low, "high": high}


def summarize(raw: dict[str, float], visits: Sequence[int] | float, population: dict[str, float] | None = None) -> str:
    """Plain words for a cluster centre: its dominant device and time of day, how often its members
    came (`visits`: their visit counts), and the sections it reads more than visitors overall do."""
    population = population or {}
    parts = []
    devices = {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("device:")}
    if devices:
        device, share = max(devices.items(), key=lambda kv: kv[1])
        if share >= 0.6:
            parts.append(DEVICE_WORDS[device]())
    dayparts = {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("daypart:")}
    if dayparts:
        part, share = max(dayparts.items(), key=lambda kv: kv[1])
        if share >= 0.5:
            parts.append(DAYPART_WORDS[part]())
    if isinstance(visits, (int, float)):
        visits = [int(math.floor(visits))]
    parts.append(visits_words(visits))
    sections = sorted(
        (
            (k.split(":", 1)[1], v)
            for k, v in raw.items()
            if k.startswith("section:") and v >= 0.25 and v >= 1.5 * population.get(k, 0.0)
        ),
        key=lambda kv: -kv[1],
    )
    if sections:
        names = [name.replace("-", " ").title() for name, _share in sections[:2]]
        parts.append(_("reads %(sections)s") % {"sections": join_and(names)})
    return list_separator().join(parts)


class NothingToSplit(ValueError):
    """The profiles do not differ enough to form two groups (all identical, say): no proposal."""


def discover(
    profiles: Sequence, *, clusters: int | None = None, seed: int = 0, max_sections: int = 8, run: str = "run"
) -> Discovery:
    """Cluster `profiles`; `clusters=None` picks k in 2..6 by silhouette score.

    Degenerate data never crashes: k is capped by the number of *distinct* behaviours, clusters that
    k-means leaves empty are dropped, and profiles that all behave the same raise `NothingToSplit`
    (a ValueError with a sentence for the editor)."""
    # scikit-learn is imported only when discovering segments, never when serving a request.
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    if len(profiles) < 4:
        raise ValueError(f"need at least 4 consented profiles to cluster, found {len(profiles)}")
    if clusters is not None and not 1 <= clusters <= len(profiles):
        raise ValueError(f"clusters must be between 1 and the number of profiles ({len(profiles)})")
    sections = busiest_sections(profiles, max_sections)
    rows = [p.features(sections) for p in profiles]
    names = list(rows[0])
    x = np.array([[r[n] for n in names] for r in rows], dtype=float)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0  # constant features (std is float noise, not 0) must not blow up distances
    z = (x - mean) / scale
    distinct = len(np.unique(np.round(z, 9), axis=0))
    if distinct < 2 and clusters != 1:
        raise NothingToSplit(
            f"all {len(profiles)} profiles behave the same (same visits, devices, times of day and sections): "
            "there is nothing to split into segments"
        )

    if clusters is None:
        rng = np.random.default_rng(seed)
        sample = z if len(z) <= 2000 else z[rng.choice(len(z), 2000, replace=False)]
        sample_distinct = len(np.unique(np.round(sample, 9), axis=0))
        best_k, best_score = 2, -1.0
        for k in range(2, min(6, sample_distinct, len(sample) - 1) + 1):
            labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(sample)
            if not 2 <= len(set(labels)) <= len(sample) - 1:
                continue
            score = silhouette_score(sample, labels)
            if score > best_score:
                best_k, best_score = k, score
        clusters = best_k
    clusters = min(clusters, distinct)

    model = KMeans(n_clusters=clusters, n_init=10, random_state=seed).fit(z)
    population = dict(zip(names, mean.tolist(), strict=True))
    out = []
    centers = []
    for i in range(clusters):
        members = model.labels_ == i
        if not members.any():  # k-means can leave a centre with no members: it is no group
            continue
        raw_center = dict(zip(names, (x[members].mean(axis=0)).tolist(), strict=True))
        visits = [profiles[j].visit_count for j in np.flatnonzero(members)]
        out.append(
            DiscoveredCluster(
                len(centers),
                int(members.sum()),
                summarize(raw_center, visits, population),
                model.cluster_centers_[i].tolist(),
                raw_center,
            )
        )
        centers.append(model.cluster_centers_[i].tolist())
    return Discovery(run, names, mean.tolist(), scale.tolist(), centers, out)
