"""Training, tuning and evaluation of the shipped emotion classifier (`rules.ml.emotion`).

Data: GoEmotions with the Ekman grouping, TSV without header: ``text<TAB>label ids<TAB>comment id``,
label ids comma-separated (multi-label) in `LABELS` order.

The recipe (chosen on dev; see `train` for what each reported number was tuned on):

- features: TF-IDF (sublinear tf) over word unigrams+bigrams with negation marking (min_df 2) and
  char_wb 2-5-grams (min_df 3), each block l2-normalized, using the analyzers of `rules.ml.emotion`;
- per label, three linear learners on those features (`LEARNERS`): logistic regression, NB-weighted
  logistic regression (features scaled by the label's log-count ratio, Wang & Manning 2012) and a
  linear SVM;
- their margins, standardized on train, are averaged. An average of linear models is linear, so
  the ensemble folds into one weight matrix and inference costs the same as a single model;
- per-label thresholds maximize that label's F1; Platt scaling turns margins into probabilities.

Korean (``language="ko"``, GoEmotions-Korean): the same recipe over the Korean blocks of
`rules.ml.emotion` (eojeol words and particle-stripped stems, syllable 1-4-grams, jamo 2-5-grams).
Its thresholds and calibration are tuned on out-of-fold scores of train only (cross-validation), so
the dev split stays unseen and its figure is honest. Korean also learns from the English originals
(joined by comment id): each learner fits soft targets, 0.3 x the gold label + 0.7 x the shipped
English model's probability on the original English comment (distillation; the teacher's Platt
calibration is refitted on train rather than the shipped one, which was fitted on dev). The English
model is stronger and reads the untranslated text, so its scores soften the noise of the translation
and of the labels. It is needed only in training: the Korean model stays one linear model over Korean
features. Chosen by 3-fold cross-validation on train, out-of-fold macro-F1: 0.545 with gold labels
only, 0.557 with teacher weight 0.5, 0.559 with 0.7 (word bigrams of particle-stripped stems: 0.540,
left out). Korean then averages only the logistic regression and the NB-weighted one, without the
SVM (`LEARNERS`): 0.5606 against 0.5594 on those folds, confirmed on a fresh 3-fold split of train
(another fold seed; rule fixed beforehand: keep it only if ahead by 0.001 or more): 0.5621 against
0.5609. Dev macro-F1 of the shipped Korean model (thresholds tuned on train only): 0.5614 (0.5589 with
the SVM).

scikit-learn is needed here, not at inference.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from scipy.sparse import diags, hstack, vstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.svm import LinearSVC

from .emotion import ANALYZERS, DATA_DIR, LABELS, MODEL_FILES, EmotionModel

N_LABELS = len(LABELS)
SEED = 0
VECTORIZER_PARAMS = {"word": {"min_df": 2}, "char": {"min_df": 3}}
#: feature blocks per language
LANGUAGE_VECTORIZERS = {
    "en": VECTORIZER_PARAMS,
    "ko": {"ko_word": {"min_df": 2}, "ko_char": {"min_df": 2}, "ko_jamo": {"min_df": 3}},
}
#: the datasets `tailor_emotion train` reads by default, beside the repository
DATASETS = {"en": "goemotions-ekman", "ko": "goemotions-ko-ekman"}
#: cross-validation folds that tune a language's shipped thresholds (0: tuned on dev, as English was)
TUNING_FOLDS = {"en": 0, "ko": 3}
#: share of the English teacher's probability in a language's training targets (the rest: gold labels)
TEACHER_WEIGHT = {"en": 0.0, "ko": 0.7}
#: the linear learners averaged per label: "lr" (logistic regression), "nb" (NB-weighted logistic
#: regression), "svm" (linear SVM)
LEARNERS = {"en": ("lr", "nb", "svm"), "ko": ("lr", "nb")}
LR_C = 1.0
NBLR_C = 1.0
SVM_C = 0.05


class DataError(ValueError):
    """A data file that cannot be read as GoEmotions TSV."""


def load_tsv(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Texts and the (n, 7) binary label matrix of a GoEmotions TSV file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    texts: list[str] = []
    rows: list[np.ndarray] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line:
                continue
            parts = line.split("\t")
            if len(parts) not in (2, 3):
                raise DataError(f"{path}:{lineno}: expected 'text<TAB>label ids[<TAB>id]', got {len(parts)} fields")
            y = np.zeros(N_LABELS, dtype=np.int8)
            try:
                ids = [int(v) for v in parts[1].split(",")]
            except ValueError:
                raise DataError(f"{path}:{lineno}: label ids must be comma-separated integers") from None
            if any(not 0 <= i < N_LABELS for i in ids):
                raise DataError(f"{path}:{lineno}: label ids must be between 0 and {N_LABELS - 1}")
            y[ids] = 1
            texts.append(parts[0])
            rows.append(y)
    if not texts:
        raise DataError(f"{path}: no rows")
    return texts, np.vstack(rows)


def load_ids(path: str | Path) -> list[str | None]:
    """The comment id of each row `load_tsv` reads (None for a row without one)."""
    ids: list[str | None] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\r\n")
            if line:
                parts = line.split("\t")
                ids.append(parts[2] if len(parts) == 3 and parts[2] else None)
    return ids


def teacher_targets(
    train_path: str | Path,
    english_path: str | Path | None,
    Y: np.ndarray,
    weight: float,
    teacher_dir: str | Path = DATA_DIR,
) -> tuple[np.ndarray, int]:
    """Soft training targets: ``(1 - weight) * gold + weight * p``, where p is the English model's
    probability on the English original of the row (`english_path`, joined by comment id). The
    teacher's Platt calibration is refitted on these train rows (its shipped one was fitted on
    dev). Rows without an English original keep their gold labels. Returns the targets and the
    number of rows that found their original."""
    targets = Y.astype(np.float64)
    if weight <= 0 or english_path is None or not Path(english_path).is_file():
        return targets, 0
    english = {}
    with open(english_path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) == 3 and parts[2]:
                english[parts[2]] = parts[0]
    ids = load_ids(train_path)
    rows = [i for i, cid in enumerate(ids) if cid is not None and cid in english]
    if any(len(set(Y[rows, j])) < 2 for j in range(N_LABELS)):
        return targets, 0  # too few rows (each label needs both values) to calibrate the teacher on
    teacher = EmotionModel.load(teacher_dir, "en")
    raw = np.array([teacher.decision_function(english[ids[i]]) for i in rows])
    slope, bias = fit_calibration(raw, Y[rows])
    targets[rows] = (1.0 - weight) * Y[rows] + weight / (1.0 + np.exp(-(slope * raw + bias)))
    return targets, len(rows)


# -- metrics -----------------------------------------------------------------------------------


def f1_per_label(pred: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """Binary F1 of each label column (0 where a label is neither predicted nor present), as
    scikit-learn's ``f1_score(average=None, zero_division=0)``."""
    pred = np.asarray(pred, dtype=bool)
    gold = np.asarray(gold, dtype=bool)
    tp = (pred & gold).sum(0)
    denom = pred.sum(0) + gold.sum(0)
    return np.divide(2.0 * tp, denom, out=np.zeros(pred.shape[1]), where=denom > 0)


def best_threshold(scores: np.ndarray, gold: np.ndarray) -> float:
    """The cut on `scores` that maximizes binary F1 (midway between two neighbouring scores)."""
    order = np.argsort(-scores, kind="stable")
    s, g = scores[order], gold[order].astype(np.int64)
    tp = np.cumsum(g)
    f1 = 2.0 * tp / (np.arange(1, len(s) + 1) + g.sum())
    # only cut between distinct scores
    valid = np.r_[s[1:] < s[:-1], True]
    i = int(np.argmax(np.where(valid, f1, -1.0)))
    return float((s[i] + s[i + 1]) / 2) if i + 1 < len(s) else float(s[i] - 1e-6)


def predict_sets(raw: np.ndarray, thresholds: np.ndarray, calibration: np.ndarray) -> np.ndarray:
    """The label sets `EmotionModel.predict` returns, for a matrix of raw scores."""
    chosen = raw >= thresholds
    empty = ~chosen.any(1)
    if empty.any():
        slope, bias = calibration
        prob = 1 / (1 + np.exp(-(slope * raw[empty] + bias)))
        at_thr = 1 / (1 + np.exp(-(slope * thresholds + bias)))
        chosen[np.flatnonzero(empty), np.argmax(prob - at_thr, 1)] = True
    return chosen


def report(pred: np.ndarray, gold: np.ndarray) -> dict:
    per = f1_per_label(pred, gold)
    return {
        "macro_f1": round(float(per.mean()), 4),
        "per_label": {name: round(float(v), 4) for name, v in zip(LABELS, per, strict=True)},
        "n": int(len(gold)),
    }


# -- fitting -----------------------------------------------------------------------------------


def fit_vectorizers(texts: list[str], language: str = "en") -> dict:
    vectorizers = {}
    for block, params in LANGUAGE_VECTORIZERS[language].items():
        vec = TfidfVectorizer(analyzer=ANALYZERS[block], sublinear_tf=True, dtype=np.float64, **params)
        vec.fit(texts)
        vectorizers[block] = vec
    return vectorizers


def transform(vectorizers: dict, texts: list[str]):
    X = hstack([vectorizers[b].transform(texts) for b in vectorizers]).tocsr()
    X.sort_indices()
    return X


def _log_count_ratio(X, y: np.ndarray) -> np.ndarray:
    present = X.copy()
    present.data[:] = 1.0
    p = np.asarray(present[y == 1].sum(0)).ravel() + 1.0
    q = np.asarray(present[y == 0].sum(0)).ravel() + 1.0
    return np.log((p / p.sum()) / (q / q.sum()))


def _soft_fit(model, X, y: np.ndarray, target: np.ndarray | None):
    """Fit `model` on gold labels `y`, or on soft targets in [0, 1]: each row twice, as a positive
    weighted by its target and as a negative weighted by the rest."""
    if target is None or np.array_equal(target, y):
        return model.fit(X, y)
    weights = np.r_[target, 1.0 - target]
    keep = weights > 1e-6
    X2 = vstack([X, X]).tocsr()[keep]
    y2 = np.r_[np.ones(len(y)), np.zeros(len(y))][keep]
    return model.fit(X2, y2, sample_weight=weights[keep])


def _fit_label(
    X, y: np.ndarray, target: np.ndarray | None = None, learners: tuple[str, ...] = LEARNERS["en"]
) -> tuple[np.ndarray, float]:
    """One label's ensemble of `learners` folded into a single (weights, bias); `target`: soft
    targets (the log-count ratio always comes from the gold labels)."""
    unknown = set(learners) - {"lr", "nb", "svm"}
    if unknown or not learners:
        raise ValueError(f"learners must be among 'lr', 'nb', 'svm', not {learners!r}")
    members: list[tuple[np.ndarray, float]] = []
    if "lr" in learners:
        lr = _soft_fit(LogisticRegression(C=LR_C, solver="liblinear"), X, y, target)
        members.append((lr.coef_.ravel(), float(lr.intercept_[0])))
    if "nb" in learners:
        r = _log_count_ratio(X, y)
        nblr = _soft_fit(LogisticRegression(C=NBLR_C, solver="liblinear"), (X @ diags(r)).tocsr(), y, target)
        members.append((nblr.coef_.ravel() * r, float(nblr.intercept_[0])))
    if "svm" in learners:
        svm = _soft_fit(LinearSVC(C=SVM_C, random_state=SEED), X, y, target)
        members.append((svm.coef_.ravel(), float(svm.intercept_[0])))

    w = np.zeros(X.shape[1])
    b = 0.0
    for coef, intercept in members:
        margin = X @ coef + intercept
        mu, sd = float(margin.mean()), float(margin.std()) or 1.0
        w += coef / sd
        b += (intercept - mu) / sd
    return w / len(members), b / len(members)


def fit_linear(
    X,
    Y: np.ndarray,
    n_jobs: int = 2,
    targets: np.ndarray | None = None,
    learners: tuple[str, ...] = LEARNERS["en"],
) -> tuple[np.ndarray, np.ndarray]:
    """(n_features, 7) weights and (7,) biases; labels fitted in parallel threads (liblinear
    releases the GIL). `targets`: soft targets (n, 7), else the gold labels; `learners`: which
    linear learners each label averages (see `LEARNERS`)."""

    fitted = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_fit_label)(X, Y[:, j], None if targets is None else targets[:, j], learners) for j in range(N_LABELS)
    )
    return np.column_stack([w for w, _ in fitted]), np.array([b for _, b in fitted])


def fit_calibration(raw: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Platt scaling per label: (2, 7) slopes and biases."""
    out = np.zeros((2, N_LABELS))
    for j in range(N_LABELS):
        m = LogisticRegression(C=1e4).fit(raw[:, [j]], Y[:, j])
        out[:, j] = m.coef_[0, 0], m.intercept_[0]
    return out


def tune(raw: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    thresholds = np.array([best_threshold(raw[:, j], Y[:, j]) for j in range(N_LABELS)])
    return thresholds, fit_calibration(raw, Y)


def out_of_fold(
    X,
    Y: np.ndarray,
    folds: int,
    n_jobs: int,
    log: Callable[[str], None],
    targets: np.ndarray | None = None,
    learners: tuple[str, ...] = LEARNERS["en"],
) -> np.ndarray:
    raw = np.zeros(Y.shape)
    for k, (tr, te) in enumerate(KFold(folds, shuffle=True, random_state=SEED).split(X), 1):
        coef, intercept = fit_linear(X[tr], Y[tr], n_jobs, None if targets is None else targets[tr], learners)
        raw[te] = X[te] @ coef + intercept
        log(f"cross-validation fold {k}/{folds} done")
    return raw


def train(
    train_path: str | Path,
    dev_path: str | Path,
    out_dir: str | Path | None = DATA_DIR,
    cv: int = 0,
    n_jobs: int = 2,
    log: Callable[[str], None] = lambda msg: None,
    language: str = "en",
    tune_on: str = "dev",
    english_path: str | Path | None = None,
) -> tuple[EmotionModel, dict]:
    """Fit on `train_path`, tune thresholds and calibration, save into `out_dir` (unless None).
    Returns the model and a report:

    - ``dev_tuned``: dev scored with thresholds tuned on dev itself (optimistic);
    - with ``cv >= 2``, ``dev_honest``: dev scored with thresholds and calibration tuned on
      out-of-fold scores of train (dev untouched by any tuning of this run), and ``train_oof``.

    `tune_on` says which tuning the saved model keeps: ``"dev"`` (as the English model shipped) or
    ``"cv"`` (the out-of-fold tuning; needs ``cv >= 2``), whose dev figure is then honest.
    The vectorizers' vocabulary and idf come from all of train in both cases (label-free).

    `english_path`: the English originals of the train rows (GoEmotions TSV, same comment ids), for
    a language whose `TEACHER_WEIGHT` is above 0 (Korean); rows without one train on gold labels.
    """
    if language not in LANGUAGE_VECTORIZERS:
        raise ValueError(
            f"no emotion model recipe for language {language!r}; available: {', '.join(LANGUAGE_VECTORIZERS)}"
        )
    if tune_on not in ("dev", "cv"):
        raise ValueError(f"tune_on must be 'dev' or 'cv', not {tune_on!r}")
    if tune_on == "cv" and cv < 2:
        raise ValueError("tuning by cross-validation needs at least 2 folds")
    started = time.perf_counter()
    train_texts, Y = load_tsv(train_path)
    dev_texts, Y_dev = load_tsv(dev_path)
    log(f"loaded {len(train_texts)} train and {len(dev_texts)} dev rows")
    vectorizers = fit_vectorizers(train_texts, language)
    X = transform(vectorizers, train_texts)
    X_dev = transform(vectorizers, dev_texts)
    log(f"{X.shape[1]} features ({time.perf_counter() - started:.0f}s)")
    weight = TEACHER_WEIGHT.get(language, 0.0)
    targets, n_taught = teacher_targets(train_path, english_path, Y, weight)
    if n_taught:
        log(f"{n_taught} rows with English teacher probabilities (weight {weight})")
    else:
        targets = None
    learners = LEARNERS.get(language, LEARNERS["en"])
    coef, intercept = fit_linear(X, Y, n_jobs, targets, learners)
    log(f"fitted ({time.perf_counter() - started:.0f}s)")
    raw_dev = X_dev @ coef + intercept
    thresholds, calibration = tune(raw_dev, Y_dev)
    results = {"dev_tuned": report(predict_sets(raw_dev, thresholds, calibration), Y_dev)}

    if cv >= 2:
        raw_oof = out_of_fold(X, Y, cv, n_jobs, log, targets, learners)
        thr_oof, cal_oof = tune(raw_oof, Y)
        results["train_oof"] = report(predict_sets(raw_oof, thr_oof, cal_oof), Y)
        results["dev_honest"] = report(predict_sets(raw_dev, thr_oof, cal_oof), Y_dev)
        if tune_on == "cv":
            thresholds, calibration = thr_oof, cal_oof

    metadata = {
        "language": language,
        "trained_on": Path(train_path).name,
        "tuned_on": Path(dev_path).name
        if tune_on == "dev"
        else f"{cv}-fold cross-validation on {Path(train_path).name}",
        "n_train": len(train_texts),
        "n_dev": len(dev_texts),
        "params": {
            "vectorizers": LANGUAGE_VECTORIZERS[language],
            "learners": list(learners),
            "lr_C": LR_C,
            "nblr_C": NBLR_C,
            "svm_C": SVM_C,
            "teacher": {"model": MODEL_FILES["en"][0], "weight": weight, "rows": n_taught} if n_taught else None,
        },
        "results": results,
    }
    model = EmotionModel(
        vocabularies={b: dict(v.vocabulary_) for b, v in vectorizers.items()},
        idf={b: v.idf_ for b, v in vectorizers.items()},
        coef=coef.astype(np.float32),
        intercept=intercept,
        calibration=calibration,
        thresholds=thresholds,
        metadata=metadata,
    )
    if out_dir is not None:
        paths = model.save(out_dir, language)
        results["model_bytes"] = sum(os.path.getsize(p) for p in paths)
        # Reload what was written, so the report describes the files (float32 idf) exactly.
        model = EmotionModel.load(out_dir, language)
    results["seconds"] = round(time.perf_counter() - started, 1)
    return model, results


# -- evaluation --------------------------------------------------------------------------------


def model_bytes(directory: str | Path = DATA_DIR, language: str = "en") -> int:
    directory = Path(directory)
    return sum((directory / name).stat().st_size for name in MODEL_FILES[language])


def evaluate(model: EmotionModel, texts: list[str], Y: np.ndarray) -> dict:
    """Macro-F1 of the predicted label sets, per-label F1, and per-text latency of `predict`."""
    pred = np.zeros(Y.shape, dtype=bool)
    index = {name: j for j, name in enumerate(LABELS)}
    times = []
    for i, text in enumerate(texts):
        t0 = time.perf_counter()
        result = model.predict(text)
        times.append((time.perf_counter() - t0) * 1000.0)
        for name in result.labels:
            pred[i, index[name]] = True
    out = report(pred, Y)
    cuts = statistics.quantiles(times, n=20) if len(times) > 1 else times * 19
    out["latency_ms"] = {"p50": round(statistics.median(times), 4), "p95": round(cuts[18], 4)}
    return out
