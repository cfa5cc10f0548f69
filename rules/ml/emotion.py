"""The shipped emotion classifier: text signal -> one of Ekman's six emotions or neutral.

A linear model over TF-IDF word and character n-grams, trained on GoEmotions (Ekman grouping) by
`rules.ml.train_emotion`. It is stored as plain arrays (`emotion-model.npz`, loaded with
``allow_pickle=False``) and a gzipped JSON vocabulary, so loading it runs no code from the files and
does not depend on the scikit-learn version that trained it. Inference here is plain Python + numpy:
the tokenizers below are the very functions training handed to scikit-learn's vectorizers, and
`EmotionModel.features` reproduces their TF-IDF transform (sublinear tf, smooth idf, l2 per block).

Privacy: the text is only read. It is never stored, cached, logged, or echoed in an error message,
which is also why there is no memoizing cache around `classify`.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rules.engine.vocabulary import EMOTION_LABELS

#: the labels the model predicts: the engine's vocabulary, so a label cannot exist in one place only
LABELS: tuple[str, ...] = EMOTION_LABELS
MAX_TEXT_LENGTH = 2000
DATA_DIR = Path(__file__).resolve().parent / "data"
MODEL_FILE = "emotion-model.npz"
VOCAB_FILE = "emotion-vocab.json.gz"
FORMAT_VERSION = 1

# Words keep inner apostrophes ("don't"); any other non-space symbol (punctuation, emoji) is a token
# of its own. GoEmotions masks names and religions; keep the masks whole so they stay one feature.
_TOKEN_RE = re.compile(r"\[name\]|\[religion\]|[^\W_]+(?:'[^\W_]+)*|[^\w\s]")
_NEGATIONS = frozenset(
    """not no never nothing nobody none nor neither cannot can't don't doesn't didn't isn't wasn't
    aren't weren't won't wouldn't shouldn't couldn't haven't hasn't hadn't ain't dont cant wont
    didnt doesnt isnt wasnt arent havent hasnt shouldnt wouldnt couldnt""".split()
)
_CLAUSE_END = frozenset(".,!?;:")
_NEGATION_SCOPE = 3


def _normalize(text: str) -> str:
    return text.lower().replace("\u2019", "'").replace("\u2018", "'")


def word_tokens(text: str) -> list[str]:
    """Lower-cased tokens; the few words after a negation are marked (``NOT_happy``) up to the
    end of the clause, so "not happy" and "happy" pull in different directions."""
    out: list[str] = []
    scope = 0
    for tok in _TOKEN_RE.findall(_normalize(text)):
        if tok in _CLAUSE_END:
            scope = 0
            out.append(tok)
            continue
        if scope:
            out.append("NOT_" + tok)
            scope -= 1
        else:
            out.append(tok)
        if tok in _NEGATIONS:
            scope = _NEGATION_SCOPE
    return out


def word_features(text: str) -> list[str]:
    """Word unigrams and bigrams (the analyzer of the word block)."""
    toks = word_tokens(text)
    return toks + [f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)]


def char_features(text: str, lo: int = 2, hi: int = 5) -> list[str]:
    """Character n-grams inside word boundaries, like scikit-learn's ``char_wb`` analyzer: each
    whitespace-separated word is padded with one space; a word shorter than ``lo`` (padded) is
    kept whole. Catches misspellings, elongations ("sooo") and emoji."""
    out: list[str] = []
    for word in _normalize(text).split():
        w = f" {word} "
        size = len(w)
        for n in range(lo, hi + 1):
            if size < n:
                if n == lo:
                    out.append(w)
                break
            out.extend(w[i : i + n] for i in range(size - n + 1))
    return out


ANALYZERS = {"word": word_features, "char": char_features}


@dataclass(frozen=True)
class EmotionResult:
    """`label` is the most probable emotion and `confidence` its probability. `scores` are
    calibrated per-label probabilities (independent, so they need not sum to 1). `labels` is the
    predicted label *set* (multi-label, per-label tuned thresholds; never empty for real text).

    Empty or whitespace-only text carries no signal: label ``"neutral"`` with confidence 0.0,
    all scores 0.0 and no labels, so an emotion condition with any minimum confidence does not
    match it."""

    label: str
    confidence: float
    scores: dict[str, float]
    labels: tuple[str, ...] = ()


class EmotionModel:
    """The loaded classifier. Immutable after construction, so one instance is shared by threads."""

    def __init__(
        self,
        vocabularies: dict[str, dict[str, int]],
        idf: dict[str, np.ndarray],
        coef: np.ndarray,
        intercept: np.ndarray,
        calibration: np.ndarray,
        thresholds: np.ndarray,
        metadata: dict | None = None,
    ):
        self.blocks = tuple(vocabularies)
        if set(self.blocks) - set(ANALYZERS):
            raise ValueError(f"unknown feature blocks {sorted(set(self.blocks) - set(ANALYZERS))}")
        self.vocabularies = vocabularies
        self.idf = {b: np.asarray(idf[b], dtype=np.float64) for b in self.blocks}
        offsets, start = {}, 0
        for b in self.blocks:
            if len(self.idf[b]) != len(vocabularies[b]):
                raise ValueError(f"block {b!r}: {len(vocabularies[b])} terms but {len(self.idf[b])} idf values")
            offsets[b] = start
            start += len(vocabularies[b])
        self.offsets = offsets
        self.n_features = start
        self.coef = np.ascontiguousarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.calibration = np.asarray(calibration, dtype=np.float64)  # (2, n_labels): slope, bias
        self.thresholds = np.asarray(thresholds, dtype=np.float64)  # on the raw score
        n_labels = len(LABELS)
        if self.coef.shape != (self.n_features, n_labels):
            raise ValueError(f"coef has shape {self.coef.shape}, expected {(self.n_features, n_labels)}")
        if self.intercept.shape != (n_labels,) or self.thresholds.shape != (n_labels,):
            raise ValueError("intercept and thresholds need one value per label")
        if self.calibration.shape != (2, n_labels):
            raise ValueError(f"calibration has shape {self.calibration.shape}, expected (2, {n_labels})")
        self.metadata = dict(metadata or {})

    # -- loading -------------------------------------------------------------------------------

    @classmethod
    def load(cls, directory: str | Path = DATA_DIR) -> EmotionModel:
        directory = Path(directory)
        with gzip.open(directory / VOCAB_FILE, "rt", encoding="utf-8") as fh:
            meta = json.load(fh)
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported emotion model format {meta.get('format')!r}")
        if tuple(meta["labels"]) != LABELS:
            raise ValueError(f"model labels {meta['labels']} differ from {LABELS}")
        with np.load(directory / MODEL_FILE, allow_pickle=False) as arrays:
            data = {k: arrays[k] for k in arrays.files}
        vocabularies = {b: {term: i for i, term in enumerate(meta["vocabulary"][b])} for b in meta["blocks"]}
        return cls(
            vocabularies=vocabularies,
            idf={b: data[f"idf_{b}"] for b in meta["blocks"]},
            coef=data["coef"],
            intercept=data["intercept"],
            calibration=data["calibration"],
            thresholds=data["thresholds"],
            metadata=meta.get("metadata", {}),
        )

    def save(self, directory: str | Path) -> list[Path]:
        """Write the two model files; returns their paths."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {f"idf_{b}": self.idf[b].astype(np.float32) for b in self.blocks}
        arrays.update(
            coef=self.coef,
            intercept=self.intercept,
            calibration=self.calibration,
            thresholds=self.thresholds,
        )
        model_path = directory / MODEL_FILE
        np.savez_compressed(model_path, **arrays)
        meta = {
            "format": FORMAT_VERSION,
            "labels": list(LABELS),
            "blocks": list(self.blocks),
            "vocabulary": {b: sorted(v, key=v.__getitem__) for b, v in self.vocabularies.items()},
            "metadata": self.metadata,
        }
        vocab_path = directory / VOCAB_FILE
        # mtime=0 keeps the file byte-identical across retrains of the same model.
        with open(vocab_path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(json.dumps(meta, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        return [model_path, vocab_path]

    # -- inference -----------------------------------------------------------------------------

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The sparse TF-IDF row of `text` as (column indices, values), columns ascending within a
        block. Equals scikit-learn's ``TfidfVectorizer(sublinear_tf=True)`` output per block, the
        blocks concatenated in order."""
        all_idx: list[np.ndarray] = []
        all_val: list[np.ndarray] = []
        for block in self.blocks:
            vocab = self.vocabularies[block]
            counts: Counter[int] = Counter()
            for term in ANALYZERS[block](text):
                j = vocab.get(term)
                if j is not None:
                    counts[j] += 1
            if not counts:
                continue
            idx = np.fromiter(sorted(counts), dtype=np.int64, count=len(counts))
            tf = np.fromiter((counts[j] for j in idx), dtype=np.float64, count=len(idx))
            val = (1.0 + np.log(tf)) * self.idf[block][idx]
            val /= math.sqrt(float(val @ val))
            all_idx.append(idx + self.offsets[block])
            all_val.append(val)
        if not all_idx:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        return np.concatenate(all_idx), np.concatenate(all_val)

    def decision_function(self, text: str) -> np.ndarray:
        """Raw per-label scores (the linear model's margins)."""
        idx, val = self.features(text)
        return val @ self.coef[idx] + self.intercept

    def probabilities(self, raw: np.ndarray) -> np.ndarray:
        slope, bias = self.calibration
        return 1.0 / (1.0 + np.exp(-(slope * raw + bias)))

    def predict(self, text: str) -> EmotionResult:
        _check_text(text)
        if not text.strip():
            return EmotionResult("neutral", 0.0, {name: 0.0 for name in LABELS}, ())
        raw = self.decision_function(text)
        probs = self.probabilities(raw)
        chosen = raw >= self.thresholds
        if not chosen.any():
            # Every text gets at least one label: the one closest to its threshold, in
            # probability terms.
            chosen[int(np.argmax(probs - self.probabilities(self.thresholds)))] = True
        best = int(np.argmax(probs))
        return EmotionResult(
            label=LABELS[best],
            confidence=float(probs[best]),
            scores={name: float(p) for name, p in zip(LABELS, probs, strict=True)},
            labels=tuple(name for name, c in zip(LABELS, chosen, strict=True) if c),
        )


def _check_text(text: str) -> None:
    # Messages state the problem, never the text.
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    if len(text) > MAX_TEXT_LENGTH:
        raise ValueError(f"text is {len(text)} characters long; the limit is {MAX_TEXT_LENGTH}")


_model: EmotionModel | None = None
_model_lock = threading.Lock()


def get_model() -> EmotionModel:
    """The shipped model, loaded on first use, once per process."""
    global _model
    model = _model
    if model is None:
        with _model_lock:
            if _model is None:
                _model = EmotionModel.load(DATA_DIR)
            model = _model
    return model


def reset_model() -> None:
    """Forget the loaded model (after retraining into the shipped directory, and in tests)."""
    global _model
    with _model_lock:
        _model = None


def classify(text: str) -> EmotionResult:
    """Classify one text signal (search query, message, feedback).

    Raises ValueError for text longer than `MAX_TEXT_LENGTH` characters and TypeError for a
    non-string. Empty or whitespace-only text returns the no-signal result described on
    `EmotionResult`."""
    _check_text(text)
    return get_model().predict(text)
