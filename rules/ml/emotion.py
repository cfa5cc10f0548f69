"""The shipped emotion classifiers: text signal -> one of Ekman's six emotions or neutral.

Two linear models over TF-IDF n-grams, trained on GoEmotions (Ekman grouping) by
`rules.ml.train_emotion`: English (word and character n-grams) and Korean (eojeol words with their
particles stripped, Hangul syllable n-grams and jamo n-grams, trained on the machine-translated
GoEmotions-Korean). `detect_language` picks the model by script (Hangul against Latin letters),
with the visitor's language as the tie-breaker; text that mixes both scripts is read by both and
their probabilities are mixed by each script's share of the letters. It is stored as plain arrays (`emotion-model.npz`, loaded with
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
import unicodedata
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
#: the languages a model ships for, and their files (English keeps its original names)
LANGUAGES: tuple[str, ...] = ("en", "ko")
MODEL_FILES = {
    "en": (MODEL_FILE, VOCAB_FILE),
    "ko": ("emotion-ko-model.npz", "emotion-ko-vocab.json.gz"),
}

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
            out.extend([w[i : i + n] for i in range(size - n + 1)])
    return out


# -- Korean ------------------------------------------------------------------------------------
#
# Korean glues particles and endings to the word (an eojeol: "회사에서는" = 회사 + 에서 + 는), so
# whole words are sparse. Three views complement each other: eojeol unigrams/bigrams plus the stem
# left when a common particle is stripped; syllable n-grams inside word boundaries (stems, endings
# such as "-네요", "-ㅠㅠ"); jamo n-grams (the letters of each syllable: "슬퍼" and "슬프" share
# ㅅㅡㄹㅍ, so inflected forms of one stem meet).

_HANGUL_SYLLABLE = re.compile(r"[\uac00-\ud7a3]")
_HANGUL_LETTER = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN_LETTER = re.compile(r"[a-zA-Z\u00c0-\u024f]")
_KO_TOKEN_RE = re.compile(r"\[name\]|\[religion\]|[^\W_]+|[^\w\s]")
# Longest first, so "에서는" is stripped whole rather than as "는".
_KO_PARTICLES = tuple(
    sorted(
        """은 는 이 가 을 를 의 에 에서 에게 께 한테 로 으로 와 과 도 만 까지 부터 보다 처럼 에서는 에는
        으로는 로는 이나 나 이라도 라도 조차 마저 밖에 이랑 랑 하고 께서 에게서 한테서 이요 요""".split(),
        key=len,
        reverse=True,
    )
)


_KO_PARTICLE_SET = frozenset(_KO_PARTICLES)
_PARTICLE_SIZES = tuple(sorted({len(p) for p in _KO_PARTICLES}, reverse=True))


def ko_word_features(text: str) -> list[str]:
    """Eojeol unigrams and bigrams, plus each eojeol's stem with a trailing particle stripped
    (``~회사``: marked so a stem and a whole word stay different features)."""
    toks = _KO_TOKEN_RE.findall(_normalize(text))
    out = toks + [f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)]
    for tok in toks:
        if not _HANGUL_SYLLABLE.match(tok):
            continue
        for size in _PARTICLE_SIZES:  # longest first
            if len(tok) > size and tok[-size:] in _KO_PARTICLE_SET:
                out.append("~" + tok[:-size])
                break
    return out


def ko_char_features(text: str) -> list[str]:
    """Syllable n-grams (1-4) inside word boundaries."""
    return char_features(text, 1, 4)


def jamo_features(text: str) -> list[str]:
    """Jamo n-grams (2-5) inside word boundaries: each Hangul syllable split into its letters."""
    return char_features(unicodedata.normalize("NFD", text), 2, 5)


ANALYZERS = {
    "word": word_features,
    "char": char_features,
    "ko_word": ko_word_features,
    "ko_char": ko_char_features,
    "ko_jamo": jamo_features,
}


def script_shares(text: str) -> tuple[float, float]:
    """(Hangul, Latin) shares of the text's Hangul and Latin letters; (0, 0) when it has neither."""
    hangul = len(_HANGUL_LETTER.findall(text))
    latin = len(_LATIN_LETTER.findall(text)) - 6 * text.lower().count("[name]")  # the mask is not English
    latin = max(latin, 0)
    total = hangul + latin
    if not total:
        return 0.0, 0.0
    return hangul / total, latin / total


#: below this share of the letters, a script is incidental (a brand name, "ㅋㅋ" in English text)
MIXED_SHARE = 0.2


def detect_language(text: str, hint: str | None = None) -> dict[str, float]:
    """Which model reads `text`, as {language: weight} (weights sum to 1).

    By script: Hangul letters go to the Korean model, Latin letters to the English one; a script
    under `MIXED_SHARE` of the letters is ignored, and text with a real share of both is read by both,
    weighted by share. Text with no letters of either (emoji, digits) follows `hint` (the visitor's
    language tag, e.g. ``"ko-KR"``), else English.
    """
    hangul, latin = script_shares(text)
    if not hangul and not latin:
        primary = (hint or "").split("-")[0].lower()
        return {"ko": 1.0} if primary == "ko" else {"en": 1.0}
    if hangul < MIXED_SHARE:
        return {"en": 1.0}
    if latin < MIXED_SHARE:
        return {"ko": 1.0}
    return {"ko": hangul, "en": latin}


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
    #: the model(s) that read the text, by weight: ("en",), ("ko",) or ("ko", "en") for mixed text
    languages: tuple[str, ...] = ("en",)


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
    def load(cls, directory: str | Path = DATA_DIR, language: str = "en") -> EmotionModel:
        directory = Path(directory)
        model_file, vocab_file = _files(language)
        with gzip.open(directory / vocab_file, "rt", encoding="utf-8") as fh:
            meta = json.load(fh)
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported emotion model format {meta.get('format')!r}")
        if tuple(meta["labels"]) != LABELS:
            raise ValueError(f"model labels {meta['labels']} differ from {LABELS}")
        with np.load(directory / model_file, allow_pickle=False) as arrays:
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

    def save(self, directory: str | Path, language: str = "en") -> list[Path]:
        """Write the two model files of `language`; returns their paths."""
        directory = Path(directory)
        model_file, vocab_file = _files(language)
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {f"idf_{b}": self.idf[b].astype(np.float32) for b in self.blocks}
        arrays.update(
            coef=self.coef,
            intercept=self.intercept,
            calibration=self.calibration,
            thresholds=self.thresholds,
        )
        model_path = directory / model_file
        np.savez_compressed(model_path, **arrays)
        meta = {
            "format": FORMAT_VERSION,
            "labels": list(LABELS),
            "blocks": list(self.blocks),
            "vocabulary": {b: sorted(v, key=v.__getitem__) for b, v in self.vocabularies.items()},
            "metadata": self.metadata,
        }
        vocab_path = directory / vocab_file
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
            get = self.vocabularies[block].get
            counts: dict[int, int] = {}
            # Counter counts in C; only the distinct terms are looked up.
            for term, n in Counter(ANALYZERS[block](text)).items():
                j = get(term)
                if j is not None:
                    counts[j] = n
            if not counts:
                continue
            columns = sorted(counts)
            idx = np.array(columns, dtype=np.int64)
            tf = np.array([counts[j] for j in columns], dtype=np.float64)
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

    def label_set(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities, chosen labels) for raw scores: labels over their tuned threshold; every
        text gets at least one, the one closest to its threshold in probability terms."""
        probs = self.probabilities(raw)
        chosen = raw >= self.thresholds
        if not chosen.any():
            chosen[int(np.argmax(probs - self.probabilities(self.thresholds)))] = True
        return probs, chosen

    def predict(self, text: str) -> EmotionResult:
        _check_text(text)
        if not text.strip():
            return _no_signal(self.language)
        probs, chosen = self.label_set(self.decision_function(text))
        return _result(probs, chosen, (self.language,))

    @property
    def language(self) -> str:
        return str(self.metadata.get("language", "en"))


def _files(language: str) -> tuple[str, str]:
    try:
        return MODEL_FILES[language]
    except KeyError:
        raise ValueError(f"no emotion model for language {language!r}; available: {', '.join(LANGUAGES)}") from None


def _no_signal(*languages: str) -> EmotionResult:
    return EmotionResult("neutral", 0.0, {name: 0.0 for name in LABELS}, (), tuple(languages))


def _result(probs: np.ndarray, chosen: np.ndarray, languages: tuple[str, ...]) -> EmotionResult:
    best = int(np.argmax(probs))
    return EmotionResult(
        label=LABELS[best],
        confidence=float(probs[best]),
        scores={name: float(p) for name, p in zip(LABELS, probs, strict=True)},
        labels=tuple(name for name, c in zip(LABELS, chosen, strict=True) if c),
        languages=languages,
    )


def _check_text(text: str) -> None:
    # Messages state the problem, never the text.
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    if len(text) > MAX_TEXT_LENGTH:
        raise ValueError(f"text is {len(text)} characters long; the limit is {MAX_TEXT_LENGTH}")


_models: dict[str, EmotionModel] = {}
_model_lock = threading.Lock()


def get_model(language: str = "en") -> EmotionModel:
    """The shipped model of `language`, loaded on first use, once per process."""
    model = _models.get(language)
    if model is None:
        _files(language)  # an unknown language fails here, with the available ones listed
        with _model_lock:
            if language not in _models:
                loaded = EmotionModel.load(DATA_DIR, language)
                loaded.metadata.setdefault("language", language)
                _models[language] = loaded
            model = _models[language]
    return model


def reset_model() -> None:
    """Forget the loaded models (after retraining into the shipped directory, and in tests)."""
    with _model_lock:
        _models.clear()


def classify(text: str, language: str | None = None) -> EmotionResult:
    """Classify one text signal (search query, message, feedback).

    The model is chosen by `detect_language` (the text's script; `language`, the visitor's language
    tag, only decides for text without Hangul or Latin letters); the result's ``languages`` says
    which model(s) read it. Raises ValueError for text longer than `MAX_TEXT_LENGTH` characters and
    TypeError for a non-string. Empty or whitespace-only text returns the no-signal result described
    on `EmotionResult`."""
    _check_text(text)
    weights = detect_language(text, language)
    if len(weights) == 1:
        return get_model(next(iter(weights))).predict(text)
    if not text.strip():
        return _no_signal(*weights)
    # Mixed scripts: each model reads the whole text (the other script's words are unknown to it);
    # probabilities mix by share, and a label is chosen when the models' shares that choose it weigh
    # at least half.
    probs = np.zeros(len(LABELS))
    votes = np.zeros(len(LABELS))
    for language_, weight in weights.items():
        p, chosen = get_model(language_).label_set(get_model(language_).decision_function(text))
        probs += weight * p
        votes += weight * chosen
    chosen = votes >= 0.5
    if not chosen.any():
        chosen[int(np.argmax(votes))] = True
    order = tuple(sorted(weights, key=weights.__getitem__, reverse=True))
    return _result(probs, chosen, order)
