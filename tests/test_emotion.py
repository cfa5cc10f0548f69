"""The shipped emotion classifier: loading, behaviour, quality floor, and the management command.

All but the command tests are pure: they import `rules.ml.emotion` only and run without Django
(``pytest -p no:django tests/test_emotion.py``).
"""

from __future__ import annotations

import dataclasses
import io
import json
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rules.ml import emotion, train_emotion
from rules.ml.emotion import LABELS, MAX_TEXT_LENGTH, EmotionResult, classify, get_model

DEV_TSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "goemotions-ekman" / "dev.tsv"
needs_dev = pytest.mark.skipif(not DEV_TSV.is_file(), reason=f"{DEV_TSV} not present")


@pytest.fixture(scope="module")
def dev_slice() -> tuple[list[str], np.ndarray]:
    texts, gold = train_emotion.load_tsv(DEV_TSV)
    return texts[:300], gold[:300]


def test_shipped_model_files_are_plain_arrays_without_pickled_objects():
    with zipfile.ZipFile(emotion.DATA_DIR / emotion.MODEL_FILE) as zf:
        for name in zf.namelist():
            header = zf.read(name)[:128]
            assert b"'descr': '|O'" not in header, name  # an object array would need pickle
    with np.load(emotion.DATA_DIR / emotion.MODEL_FILE, allow_pickle=False) as arrays:
        assert {"coef", "intercept", "calibration", "thresholds"} <= set(arrays.files)
        assert arrays["coef"].shape[1] == len(LABELS)


def test_shipped_model_files_stay_under_25_mb():
    assert train_emotion.model_bytes() < 25 * 1024 * 1024


def test_get_model_loads_once_and_is_shared_across_threads():
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(get_model())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(m is get_model() for m in seen)


def test_classify_returns_a_frozen_result_with_a_probability_per_label():
    result = classify("Thanks so much, this made my day!")
    assert isinstance(result, EmotionResult)
    assert LABELS == ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")
    assert result.label in LABELS
    assert set(result.scores) == set(LABELS)
    assert all(0.0 <= p <= 1.0 for p in result.scores.values())
    assert result.confidence == result.scores[result.label] == max(result.scores.values())
    assert result.labels and set(result.labels) <= set(LABELS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.label = "anger"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I am so happy, thank you!", {"joy"}),
        ("This is disgusting", {"disgust", "anger"}),
        ("I'm terrified", {"fear"}),
        ("I miss her so much, I can't stop crying", {"sadness"}),
        ("Wow, I did not expect that at all!", {"surprise"}),
    ],
)
def test_obvious_examples_get_the_obvious_label(text, expected):
    assert classify(text).label in expected


def test_negation_changes_the_prediction():
    assert classify("I am happy").scores["joy"] > classify("I am not happy").scores["joy"]


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_is_neutral_with_zero_confidence(text):
    result = classify(text)
    assert result.label == "neutral"
    assert result.confidence == 0.0
    assert result.labels == ()
    assert set(result.scores.values()) == {0.0}


def test_text_longer_than_the_limit_is_rejected_without_echoing_it():
    secret = "my secret " * (MAX_TEXT_LENGTH // 10) + "x"
    assert len(secret) > MAX_TEXT_LENGTH
    with pytest.raises(ValueError) as excinfo:
        classify(secret)
    assert "secret" not in str(excinfo.value)
    assert classify("a" * MAX_TEXT_LENGTH).label in LABELS


def test_non_string_text_is_a_type_error():
    with pytest.raises(TypeError):
        classify(None)  # type: ignore[arg-type]


def test_unknown_words_still_give_a_label():
    result = classify("zxqv qwzx")
    assert result.label in LABELS
    assert result.labels


@needs_dev
def test_macro_f1_on_a_dev_slice_is_well_above_chance(dev_slice):
    texts, gold = dev_slice
    out = train_emotion.evaluate(get_model(), texts, gold)
    assert out["n"] == 300
    assert set(out["per_label"]) == set(LABELS)
    # Always predicting every label scores about 0.25 here; the model scores about 0.6.
    assert out["macro_f1"] > 0.4


def test_f1_matches_the_per_label_binary_definition():
    gold = np.array([[1, 0], [1, 1], [0, 0], [0, 1]])
    pred = np.array([[1, 0], [0, 1], [1, 0], [0, 0]])
    # label 0: tp 1, fp 1, fn 1 -> 0.5; label 1: tp 1, fp 0, fn 1 -> 2/3
    assert np.allclose(train_emotion.f1_per_label(pred, gold), [0.5, 2 / 3])


def test_numpy_features_equal_sklearn_tfidf_fitted_on_a_sample():
    pytest.importorskip("sklearn")
    texts = [
        "I am so happy, thank you!",
        "I don't like this at all... not good, not good",
        "WHY would [NAME] do that?? 😡😡",
        "Sooooo cool, didn't expect it",
        "café déjà vu — naïve",
        "a",
        "",
    ] * 3  # every term reaches the vectorizers' min_df
    vectorizers = train_emotion.fit_vectorizers(texts)
    model = emotion.EmotionModel(
        vocabularies={b: dict(v.vocabulary_) for b, v in vectorizers.items()},
        idf={b: v.idf_ for b, v in vectorizers.items()},
        coef=np.zeros((sum(len(v.vocabulary_) for v in vectorizers.values()), len(LABELS))),
        intercept=np.zeros(len(LABELS)),
        calibration=np.ones((2, len(LABELS))),
        thresholds=np.zeros(len(LABELS)),
    )
    expected = train_emotion.transform(vectorizers, texts).toarray()
    for row, text in zip(expected, texts, strict=True):
        idx, val = model.features(text)
        got = np.zeros(model.n_features)
        got[idx] = val
        assert np.allclose(got, row, atol=1e-12), text


def test_shipped_model_features_equal_sklearn_transform_with_its_vocabulary():
    sklearn_text = pytest.importorskip("sklearn.feature_extraction.text")
    model = get_model()
    texts = ["I am so happy, thank you!", "This is disgusting", "I'm terrified of spiders 😱"]
    blocks = []
    for block in model.blocks:
        vec = sklearn_text.TfidfVectorizer(
            analyzer=emotion.ANALYZERS[block], vocabulary=model.vocabularies[block], sublinear_tf=True
        )
        vec.idf_ = model.idf[block]
        blocks.append(vec.transform(texts).toarray())
    expected = np.hstack(blocks)
    for row, text in zip(expected, texts, strict=True):
        idx, val = model.features(text)
        got = np.zeros(model.n_features)
        got[idx] = val
        assert np.allclose(got, row, atol=1e-12), text


@needs_dev
def test_training_on_a_small_slice_writes_a_model_that_loads_and_classifies(tmp_path):
    pytest.importorskip("sklearn")
    rows = DEV_TSV.read_text(encoding="utf-8").splitlines()
    (tmp_path / "train.tsv").write_text("\n".join(rows[:600]) + "\n", encoding="utf-8")
    (tmp_path / "dev.tsv").write_text("\n".join(rows[600:900]) + "\n", encoding="utf-8")
    model, results = train_emotion.train(
        tmp_path / "train.tsv", tmp_path / "dev.tsv", out_dir=tmp_path / "model", cv=2, n_jobs=1
    )
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == sorted([emotion.MODEL_FILE, emotion.VOCAB_FILE])
    assert {"dev_tuned", "dev_honest", "train_oof", "model_bytes"} <= set(results)
    reloaded = emotion.EmotionModel.load(tmp_path / "model")
    assert reloaded.predict("thank you so much").scores == model.predict("thank you so much").scores
    assert reloaded.metadata["n_train"] == 600


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("just text without labels", "expected"),
        ("text\tjoy\tid1", "integers"),
        ("text\t9\tid1", "between 0 and 6"),
    ],
)
def test_malformed_tsv_lines_are_reported_with_their_line_number(tmp_path, line, message):
    path = tmp_path / "bad.tsv"
    path.write_text(f"fine\t3\tid0\n{line}\n", encoding="utf-8")
    with pytest.raises(train_emotion.DataError, match=rf"bad\.tsv:2: .*{message}"):
        train_emotion.load_tsv(path)


# -- the management command (needs Django settings) --------------------------------------------


def _call(*args) -> str:
    pytest.importorskip("django")
    from django.conf import settings

    if not settings.configured:
        pytest.skip("Django settings are not configured")
    from django.core.management import call_command

    out = io.StringIO()
    call_command("tailor_emotion", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_command_classify_prints_label_and_scores_as_json():
    out = json.loads(_call("classify", "I am so happy, thank you!"))
    assert out["label"] == "joy"
    assert set(out["scores"]) == set(LABELS)


@needs_dev
def test_command_evaluate_prints_macro_f1_per_label_and_latency(tmp_path):
    rows = DEV_TSV.read_text(encoding="utf-8").splitlines()[:300]
    path = tmp_path / "slice.tsv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = json.loads(_call("evaluate", str(path)))
    assert out["n"] == 300
    assert out["macro_f1"] > 0.4
    assert set(out["per_label"]) == set(LABELS)
    assert out["latency_ms"]["p50"] > 0
    assert out["model_bytes"] == train_emotion.model_bytes()


def test_command_reports_bad_input_as_command_errors(tmp_path):
    pytest.importorskip("django")
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="no such file"):
        _call("evaluate", str(tmp_path / "missing.tsv"))
    bad = tmp_path / "bad.tsv"
    bad.write_text("no tabs here\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"bad\.tsv:1"):
        _call("evaluate", str(bad))
    with pytest.raises(CommandError, match="limit"):
        _call("classify", "x" * (MAX_TEXT_LENGTH + 1))
    with pytest.raises(CommandError, match="no such file"):
        _call("train", "--train", str(tmp_path / "missing.tsv"), "--out", str(tmp_path / "model"))
