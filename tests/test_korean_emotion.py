"""The Korean emotion classifier: shipped files, routing by script, quality on a dev slice, and
`tailor_emotion --language ko` (train on a tiny slice, evaluate, classify)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from scipy.sparse import csr_matrix

from rules.ml import emotion, train_emotion
from rules.ml.emotion import LABELS, classify, get_model

KO_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "goemotions-ko-ekman"
KO_DEV = KO_DIR / "dev.tsv"
needs_dev = pytest.mark.skipif(not KO_DEV.is_file(), reason=f"{KO_DEV} not present")
KO_MODEL, KO_VOCAB = emotion.MODEL_FILES["ko"]


def _call(*args) -> str:
    out = io.StringIO()
    call_command("tailor_emotion", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_korean_model_ships_as_plain_arrays_under_25_mb():
    with zipfile.ZipFile(emotion.DATA_DIR / KO_MODEL) as zf:
        for name in zf.namelist():
            assert b"'descr': '|O'" not in zf.read(name)[:128], name
    with np.load(emotion.DATA_DIR / KO_MODEL, allow_pickle=False) as arrays:
        assert arrays["coef"].shape[1] == len(LABELS)
    assert train_emotion.model_bytes(language="ko") < 25 * 1024 * 1024
    model = get_model("ko")
    assert model.language == "ko"
    assert set(model.blocks) == {"ko_word", "ko_char", "ko_jamo"}
    # Tuned honestly: thresholds from cross-validation on train, never on dev.
    assert "cross-validation" in model.metadata["tuned_on"]


def test_each_language_has_its_own_model_loaded_once():
    assert get_model("ko") is get_model("ko")
    assert get_model("ko") is not get_model("en")
    with pytest.raises(ValueError, match="available: en, ko"):
        get_model("ja")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("오늘 너무 우울해요", {"sadness"}),
        ("정말 고마워요, 너무 행복해요!", {"joy"}),
        ("진짜 화나네, 짜증나 죽겠어", {"anger", "disgust"}),
        ("너무 무서워요", {"fear"}),
        ("이건 전혀 예상 못 했어, 깜짝 놀랐어!", {"surprise"}),
    ],
)
def test_korean_text_reaches_the_korean_model_and_gets_the_obvious_label(text, expected):
    result = classify(text)
    assert result.languages == ("ko",)
    assert result.label in expected


def test_english_text_still_reaches_the_english_model():
    result = classify("I miss her so much, I can't stop crying", "ko-KR")
    assert result.languages == ("en",)
    assert result.label == "sadness"


def test_mixed_text_is_read_by_both_models():
    result = classify("오늘 진짜 너무 슬퍼 I miss her so much")
    assert set(result.languages) == {"ko", "en"}
    assert result.label == "sadness"
    assert result.labels and set(result.labels) <= set(LABELS)
    assert all(0.0 <= p <= 1.0 for p in result.scores.values())


def test_text_without_letters_follows_the_visitors_language():
    assert classify("😭😭😭", "ko-KR").languages == ("ko",)
    assert classify("😭😭😭").languages == ("en",)


def test_empty_korean_hint_text_is_no_signal():
    result = classify("   ", "ko")
    assert result.confidence == 0.0 and result.labels == ()


@needs_dev
def test_macro_f1_on_a_korean_dev_slice_is_well_above_chance():
    texts, gold = train_emotion.load_tsv(KO_DEV)
    out = train_emotion.evaluate(get_model("ko"), texts[:400], gold[:400])
    assert out["macro_f1"] > 0.45
    assert out["latency_ms"]["p50"] < 5


@needs_dev
def test_command_evaluates_the_korean_model(tmp_path):
    path = tmp_path / "slice.tsv"
    path.write_text("\n".join(KO_DEV.read_text(encoding="utf-8").splitlines()[:300]) + "\n", encoding="utf-8")
    out = json.loads(_call("evaluate", str(path), "--language", "ko"))
    assert out["language"] == "ko" and out["n"] == 300
    assert out["macro_f1"] > 0.45
    assert out["model_bytes"] == train_emotion.model_bytes(language="ko")
    assert "cross-validation" in out["tuned_on"]


def test_command_classify_names_the_model():
    out = json.loads(_call("classify", "오늘 너무 우울해요"))
    assert out["models"] == ["ko"] and out["label"] == "sadness"


@needs_dev
def test_command_trains_a_korean_model_on_a_tiny_slice_tuned_by_cross_validation(tmp_path):
    rows = KO_DEV.read_text(encoding="utf-8").splitlines()
    (tmp_path / "train.tsv").write_text("\n".join(rows[:600]) + "\n", encoding="utf-8")
    (tmp_path / "dev.tsv").write_text("\n".join(rows[600:800]) + "\n", encoding="utf-8")
    out = json.loads(
        _call(
            "train",
            "--language", "ko",
            "--train", str(tmp_path / "train.tsv"),
            "--dev", str(tmp_path / "dev.tsv"),
            "--out", str(tmp_path / "model"),
            "--cv", "2",
        )
    )  # fmt: skip
    assert {"dev_honest", "train_oof", "model_bytes"} <= set(out)
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == sorted([KO_MODEL, KO_VOCAB])
    model = emotion.EmotionModel.load(tmp_path / "model", "ko")
    assert model.metadata["language"] == "ko" and model.metadata["n_train"] == 600
    assert model.metadata["tuned_on"] == "2-fold cross-validation on train.tsv"
    assert model.metadata["params"]["learners"] == list(train_emotion.LEARNERS["ko"])
    assert model.predict("오늘 너무 우울해요").languages == ("ko",)


def test_command_refuses_korean_training_without_cross_validation(tmp_path):
    with pytest.raises(CommandError, match="at least 2 folds"):
        _call("train", "--language", "ko", "--cv", "0", "--out", str(tmp_path / "model"))
    with pytest.raises(CommandError, match="invalid choice"):
        _call("evaluate", "x.tsv", "--language", "ja")


def test_korean_features_equal_sklearn_transform_with_the_shipped_vocabulary():
    sklearn_text = pytest.importorskip("sklearn.feature_extraction.text")
    model = get_model("ko")
    texts = ["오늘 너무 우울해요 ㅠㅠ", "회사에서는 [NAME]이 정말 고마웠어요!", "와... 대박 😱 진짜?"]
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


def test_teacher_targets_mix_gold_with_the_english_models_probability_on_the_original(tmp_path):
    english = [
        ("I'm so happy, thank you!", "3", "a1"),
        ("This is disgusting and I hate it", "0,1", "a2"),
        ("I'm scared of the dark", "2", "a3"),
        ("Ok, see you tomorrow", "4", "a4"),
        ("I miss her so much, so sad", "5", "a5"),
        ("Wow, I did not expect that!", "6", "a6"),
        ("Thanks, that made my day", "3", "a7"),
        ("Meh.", "4", "a8"),
    ]
    korean = [("번역된 글", labels, cid) for _, labels, cid in english] + [("원문 없는 글", "4", "zz")]
    (tmp_path / "en.tsv").write_text("".join("\t".join(r) + "\n" for r in english), encoding="utf-8")
    (tmp_path / "ko.tsv").write_text("".join("\t".join(r) + "\n" for r in korean), encoding="utf-8")
    _, Y = train_emotion.load_tsv(tmp_path / "ko.tsv")

    targets, n = train_emotion.teacher_targets(tmp_path / "ko.tsv", tmp_path / "en.tsv", Y, 0.5)
    assert n == len(english)
    assert targets.shape == Y.shape and ((targets >= 0) & (targets <= 1)).all()
    # half gold, half the teacher's probability: a gold label keeps at least 0.5, an absent one at most 0.5
    assert (targets[:-1][Y[:-1] == 1] >= 0.5).all() and (targets[:-1][Y[:-1] == 0] <= 0.5).all()
    assert np.array_equal(targets[-1], Y[-1])  # no English original: gold only
    # no English file (or weight 0): gold labels, nothing taught
    for path, weight in ((None, 0.5), (tmp_path / "en.tsv", 0.0)):
        gold, n = train_emotion.teacher_targets(tmp_path / "ko.tsv", path, Y, weight)
        assert n == 0 and np.array_equal(gold, Y)


def test_the_shipped_korean_model_learned_from_the_english_teacher():
    teacher = get_model("ko").metadata["params"]["teacher"]
    assert teacher["model"] == emotion.MODEL_FILE and teacher["weight"] == train_emotion.TEACHER_WEIGHT["ko"]
    assert teacher["rows"] > 40000


def test_korean_averages_lr_and_nb_only_while_english_keeps_all_three():
    assert train_emotion.LEARNERS["ko"] == ("lr", "nb")
    assert train_emotion.LEARNERS["en"] == ("lr", "nb", "svm")
    assert get_model("ko").metadata["params"]["learners"] == ["lr", "nb"]


def test_fit_label_folds_only_the_learners_it_is_given():
    rng = np.random.default_rng(0)
    X = rng.random((60, 8))
    y = (X[:, 0] + 0.3 * rng.random(60) > 0.65).astype(int)
    X = csr_matrix(X)
    both, b_both = train_emotion._fit_label(X, y, learners=("lr", "nb"))
    alone, b_alone = train_emotion._fit_label(X, y, learners=("lr",))
    nb, b_nb = train_emotion._fit_label(X, y, learners=("nb",))
    assert np.allclose(both, (alone + nb) / 2) and np.isclose(b_both, (b_alone + b_nb) / 2)
    with pytest.raises(ValueError, match="learners"):
        train_emotion._fit_label(X, y, learners=("tree",))
