"""Training the conversion-likelihood model, exporting it as arrays, checking it on real data.

`train_model(X, y)` fits scikit-learn's gradient boosting (log-loss, depth-3 trees) and `export`
turns it into a `rules.engine.prediction.TreeModel`: plain arrays, saved with `save` as
``predict-model.npz`` (loaded with ``allow_pickle=False``) and ``predict-meta.json`` (feature names,
training figures, the site's page and section tables), the emotion model's format. Request time is
plain numpy (`rules.engine.prediction`), independent of the scikit-learn version that trained it.

`load_csv` reads the Online Shoppers dataset's CSV format; `evaluate_cv` cross-validates on it
(AUC, average precision, Brier score, expected calibration error). `site_table` and `session_rows`
build Tailor's own page values, bounce and exit rates, next-section table and training rows from
journey sessions (`rules.engine.journey`), through the same schema (`session_features`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rules.engine.journey import section_transitions
from rules.engine.prediction import FEATURES, MODEL_FORMAT, SiteTable, TreeModel, session_features, vector

DATA_DIR = Path(__file__).resolve().parent / "data"
MODEL_FILE = "predict-model.npz"
META_FILE = "predict-meta.json"
MONTHS = {
    m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)
}
#: the dataset's columns `load_csv` needs: the model's features under the dataset's names (``VisitorType`` for
#: ``Returning``), and the label ``Revenue``
CSV_COLUMNS = (*("VisitorType" if f == "Returning" else f for f in FEATURES), "Revenue")
DEFAULT_PARAMS = {"n_estimators": 150, "max_depth": 3, "learning_rate": 0.05, "min_samples_leaf": 30}
#: how many pages and sections the site table keeps (the most viewed)
MAX_TABLE_PAGES = 2000
MAX_TABLE_SECTIONS = 100
MAX_NEXT = 8


class DataError(ValueError):
    """A file that is not in the dataset's format; the message says where."""


def _flag(value: str, line: int, column: str) -> float:
    text = value.strip().lower()
    if text in ("true", "1", "yes"):
        return 1.0
    if text in ("false", "0", "no"):
        return 0.0
    raise DataError(f"line {line}, {column}: expected TRUE or FALSE, got {value!r}")


def load_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(X in `FEATURES` order, y 0/1) from an Online Shoppers CSV; raises DataError naming the line."""
    try:
        handle = open(path, newline="", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as e:
        raise DataError(f"{path}: {e.strerror or e}") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(missing)} (the Online Shoppers format)")
        rows, labels = [], []
        for line, rec in enumerate(reader, start=2):
            try:
                row = {c: float(rec[c]) for c in CSV_COLUMNS[:9]}
            except (TypeError, ValueError):
                bad = next(c for c in CSV_COLUMNS[:9] if not _is_number(rec.get(c)))
                raise DataError(f"line {line}, {bad}: expected a number, got {rec.get(bad)!r}") from None
            month = MONTHS.get((rec["Month"] or "").strip().lower()[:3])
            if month is None:
                raise DataError(f"line {line}, Month: expected a month name, got {rec['Month']!r}")
            row["Month"] = float(month)
            row["Returning"] = 1.0 if rec["VisitorType"].strip() == "Returning_Visitor" else 0.0
            row["Weekend"] = _flag(rec["Weekend"], line, "Weekend")
            rows.append(vector(row))
            labels.append(_flag(rec["Revenue"], line, "Revenue"))
    if not rows:
        raise DataError(f"{path}: no sessions")
    return np.vstack(rows), np.array(labels, dtype=np.int64)


def _is_number(value) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


# --- training and export ------------------------------------------------------------------------


def train_model(X: np.ndarray, y: np.ndarray, params: Mapping[str, Any] | None = None, seed: int = 0):
    # scikit-learn trains and checks; loading and request time never import it
    from sklearn.ensemble import GradientBoostingClassifier

    if len(set(np.asarray(y).tolist())) < 2:
        raise DataError("the sessions need both outcomes (some converting, some not)")
    model = GradientBoostingClassifier(**{**DEFAULT_PARAMS, **(params or {})}, random_state=seed)
    model.fit(X, y)
    return model


def _complete(tree, depth: int, lr: float):
    """One fitted sklearn tree as complete-tree arrays (heap order), leaf values scaled by `lr`."""
    n_inner, n_leaf = 2**depth - 1, 2**depth
    feature = np.zeros(n_inner, dtype=np.int64)
    threshold = np.full(n_inner, np.inf)
    node_value = np.zeros(n_inner)
    leaf = np.zeros(n_leaf)
    t = tree.tree_
    values = t.value.reshape(t.node_count, -1)[:, 0] * lr

    def fill(heap: int, node: int, level: int) -> None:
        if level == depth:
            leaf[heap - n_inner] = values[node]
            return
        node_value[heap] = values[node]
        if t.children_left[node] == -1:  # a leaf above full depth: a split every value goes left of
            feature[heap], threshold[heap] = 0, np.inf
            fill(2 * heap + 1, node, level + 1)
            fill(2 * heap + 2, node, level + 1)
        else:
            feature[heap], threshold[heap] = t.feature[node], t.threshold[node]
            fill(2 * heap + 1, t.children_left[node], level + 1)
            fill(2 * heap + 2, t.children_right[node], level + 1)

    fill(0, 0, 0)
    return feature, threshold, leaf, node_value


def export(model, features: Sequence[str] = FEATURES, meta: Mapping[str, Any] | None = None) -> TreeModel:
    """A fitted GradientBoostingClassifier (binary, log-loss) as a numpy `TreeModel`."""
    depth = max(e.tree_.max_depth for e in model.estimators_[:, 0])
    depth = max(depth, 1)
    parts = [_complete(e, depth, model.learning_rate) for e in model.estimators_[:, 0]]
    prior = float(model.init_.class_prior_[1])
    base = float(np.log(prior / (1 - prior)))
    return TreeModel(
        tuple(features),
        np.vstack([p[0] for p in parts]),
        np.vstack([p[1] for p in parts]),
        np.vstack([p[2] for p in parts]),
        np.vstack([p[3] for p in parts]),
        base,
        depth,
        dict(meta or {}),
    )


def to_bytes(model: TreeModel) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **model.arrays())
    return buf.getvalue()


def from_bytes(data: bytes, meta: Mapping[str, Any]) -> TreeModel:
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        return TreeModel.from_arrays({k: arrays[k] for k in arrays.files}, meta.get("features", FEATURES), meta)


def save(model: TreeModel, directory: str | Path = DATA_DIR) -> tuple[Path, Path]:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model_path, meta_path = directory / MODEL_FILE, directory / META_FILE
    model_path.write_bytes(to_bytes(model))
    meta = {**dict(model.meta), "format": MODEL_FORMAT, "features": list(model.features)}
    meta_path.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return model_path, meta_path


def load(directory: str | Path = DATA_DIR) -> TreeModel:
    directory = Path(directory)
    meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    return from_bytes((directory / MODEL_FILE).read_bytes(), meta)


# --- checking -----------------------------------------------------------------------------------


def metrics(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict[str, float]:
    # scikit-learn trains and checks; loading and request time never import it
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    ece = sum(
        abs(p[which == b].mean() - y[which == b].mean()) * (which == b).mean()
        for b in range(bins)
        if (which == b).any()
    )
    return {
        "auc": float(roc_auc_score(y, p)),
        "average_precision": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "ece": float(ece),
        "positive_rate": float(y.mean()),
        "mean_prediction": float(p.mean()),
    }


def evaluate_cv(
    X: np.ndarray,
    y: np.ndarray,
    folds: int = 5,
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    log: Callable[[str], None] = lambda _m: None,
) -> tuple[dict[str, float], np.ndarray]:
    """Out-of-fold predictions of exported models (so the numpy evaluator is what is measured)."""
    # scikit-learn trains and checks; loading and request time never import it
    from sklearn.model_selection import StratifiedKFold

    if folds < 2:
        raise DataError("--folds must be at least 2")
    oof = np.zeros(len(y))
    for k, (train_idx, test_idx) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y), 1):
        model = export(train_model(X[train_idx], y[train_idx], params, seed))
        oof[test_idx] = model.probability_many(X[test_idx])
        log(f"fold {k}/{folds}: {len(test_idx)} sessions")
    return metrics(y, oof), oof


# --- Tailor's own sessions ----------------------------------------------------------------------


def completed_sessions(journeys: Iterable[Mapping[str, Any]]) -> Iterable[tuple[Mapping[str, Any], bool]]:
    """(session, returning) for every session of every journey, oldest first within a journey."""
    for journey in journeys:
        for i, session in enumerate(journey.get("sessions") or ()):
            if session.get("views"):
                yield session, i > 0


def site_table(sessions: Sequence[Mapping[str, Any]]) -> SiteTable:
    """Tailor's page value (the dataset's PageValues: the conversion value of the sessions that saw a
    page before converting, per session that saw it; a conversion without a value counts 1), bounce
    rate (sessions entering on the page that saw only it) and exit rate (sessions leaving from it, per
    view), and the section -> next section probabilities."""
    seen: dict[int, int] = {}
    credit: dict[int, float] = {}
    entries: dict[int, int] = {}
    bounces: dict[int, int] = {}
    exits: dict[int, int] = {}
    views: dict[int, int] = {}
    for s in sessions:
        pages = [p for p in s.get("pages") or () if isinstance(p, int)]
        if not pages:
            continue
        for p in pages:
            views[p] = views.get(p, 0) + 1
        for p in set(pages):
            seen[p] = seen.get(p, 0) + 1
        if s.get("conv"):
            worth = float(s.get("value") or 0.0) or float(s.get("conv") or 1)
            upto = pages[: int(s.get("conv_at") or len(pages))]
            for p in set(upto):
                credit[p] = credit.get(p, 0.0) + worth
        entries[pages[0]] = entries.get(pages[0], 0) + 1
        if int(s.get("views") or 0) <= 1:
            bounces[pages[0]] = bounces.get(pages[0], 0) + 1
        exits[pages[-1]] = exits.get(pages[-1], 0) + 1
    top = sorted(views, key=lambda p: -views[p])[:MAX_TABLE_PAGES]
    table = {
        p: (
            credit.get(p, 0.0) / seen[p],
            bounces.get(p, 0) / entries[p] if entries.get(p) else 0.0,
            exits.get(p, 0) / views[p],
        )
        for p in top
    }
    default = tuple(float(np.mean([v[i] for v in table.values()])) if table else 0.0 for i in range(3))
    counts = section_transitions(s.get("trail") or () for s in sessions)
    busiest = sorted(counts, key=lambda a: -sum(counts[a].values()))[:MAX_TABLE_SECTIONS]
    nxt = {}
    for a in busiest:
        total = sum(counts[a].values())
        ranked = sorted(counts[a].items(), key=lambda kv: -kv[1])[:MAX_NEXT]
        nxt[a] = {b: round(c / total, 4) for b, c in ranked}
    return SiteTable(table, default, nxt)  # type: ignore[arg-type]


def session_rows(pairs: Sequence[tuple[Mapping[str, Any], bool]], table: SiteTable) -> tuple[np.ndarray, np.ndarray]:
    """Training rows (the dataset's schema) and labels (the session converted) from journey sessions."""
    if not pairs:
        return np.zeros((0, len(FEATURES))), np.zeros(0, dtype=np.int64)
    X = np.vstack([vector(session_features(s, table, returning=r)) for s, r in pairs])
    y = np.array([1 if s.get("conv") else 0 for s, _r in pairs], dtype=np.int64)
    return X, y


def write_csv(pairs: Sequence[tuple[Mapping[str, Any], bool]], table: SiteTable, handle) -> int:
    """Tailor's sessions in the dataset's CSV format (what `evaluate` reads); returns the rows written."""
    months = {v: k.title() for k, v in MONTHS.items()}
    writer = csv.writer(handle)
    writer.writerow(CSV_COLUMNS)
    for session, returning in pairs:
        row = session_features(session, table, returning=returning)
        writer.writerow(
            [f"{row[c]:.6g}" for c in CSV_COLUMNS[:9]]
            + [
                months.get(int(row["Month"]), "Jan"),
                "Returning_Visitor" if row["Returning"] else "New_Visitor",
                "TRUE" if row["Weekend"] else "FALSE",
                "TRUE" if session.get("conv") else "FALSE",
            ]
        )
    return len(pairs)


def spread(groups: Mapping[str, Mapping[str, Sequence[float]]], threshold: float = 0.5) -> dict[str, Any]:
    """Summaries of predicted likelihoods per group: {dimension: {group: {n, mean, p50, p90, likely}}}."""
    out: dict[str, Any] = {}
    for dimension, by_group in groups.items():
        out[dimension] = {}
        for name, values in sorted(by_group.items()):
            arr = np.asarray(values, dtype=np.float64)
            if not len(arr):
                continue
            out[dimension][name] = {
                "n": len(arr),
                "mean": round(float(arr.mean()), 4),
                "p50": round(float(np.median(arr)), 4),
                "p90": round(float(np.quantile(arr, 0.9)), 4),
                "likely": round(float((arr >= threshold).mean()), 4),
            }
    return out
