"""``manage.py tailor_emotion train|evaluate|classify``: the shipped emotion classifiers.

- ``train [--language en|ko] [--train PATH] [--dev PATH] [--out DIR] [--cv K]`` fits on train and
  writes the model files (default: the shipped `rules/ml/data/`). English tunes its thresholds on
  dev; ``--cv K`` also reports an honest dev figure, tuned by K-fold cross-validation on train only.
  Korean always tunes by cross-validation on train (``--cv``, default 3), so its dev figure is honest,
  and learns from the English model's scores on the English originals of its train rows
  (``--english PATH``, default ``../shared/data/goemotions-ekman/train.tsv``; joined by comment id).
  Default data: ``../shared/data/goemotions-ekman`` (en), ``../shared/data/goemotions-ko-ekman`` (ko).
- ``evaluate FILE.tsv [--language en|ko]`` prints JSON: that language's model's macro-F1, per-label
  F1, row count, latency, model size.
- ``classify TEXT [--language TAG]`` prints JSON: label, confidence, label set, scores and the
  model(s) that read it (chosen by the text's script; ``--language`` decides for text without letters).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from rules.ml import emotion, train_emotion

DATASET = Path("shared") / "data" / "goemotions-ekman"


def _default_data_dir(language: str = "en") -> Path | None:
    """The GoEmotions data beside the repository (``../shared/data/goemotions-ekman`` for English)."""
    dataset = DATASET.parent / train_emotion.DATASETS[language]
    roots = []
    base_dir = getattr(settings, "BASE_DIR", None)
    if base_dir:
        roots.append(Path(base_dir).resolve().parent)
    roots.append(Path(__file__).resolve().parents[4])  # the repository's parent, in a checkout
    for root in roots:
        if (root / dataset).is_dir():
            return root / dataset
    return None


class Command(BaseCommand):
    help = "Train, evaluate or run the shipped emotion classifier."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{train,evaluate,classify}")

        p_train = sub.add_parser("train", help="train and write the model files")
        p_train.add_argument("--train", dest="train_path", help="GoEmotions TSV to fit on")
        p_train.add_argument("--dev", dest="dev_path", help="GoEmotions TSV to tune thresholds on")
        p_train.add_argument("--out", dest="out_dir", help=f"output directory (default {emotion.DATA_DIR})")
        p_train.add_argument(
            "--cv",
            type=int,
            default=None,
            help="K-fold cross-validation on train: reports an honest dev figure (English); "
            "tunes the thresholds (Korean, default 3)",
        )
        p_train.add_argument(
            "--english",
            dest="english_path",
            help="English originals of the train rows, for the teacher's soft targets (Korean; "
            "default: the English GoEmotions train.tsv)",
        )
        languages = list(emotion.LANGUAGES)
        p_train.add_argument("--language", choices=languages, default="en", help="which model (default en)")

        p_eval = sub.add_parser("evaluate", help="score a GoEmotions TSV file; prints JSON")
        p_eval.add_argument("file", help="GoEmotions TSV (text, label ids, id)")
        p_eval.add_argument("--language", choices=languages, default="en", help="which model (default en)")

        p_classify = sub.add_parser("classify", help="classify one text; prints JSON")
        p_classify.add_argument("text")
        p_classify.add_argument(
            "--language", default=None, help="the visitor's language tag; decides only for text without letters"
        )

    def handle(self, *args, action: str, **options):
        try:
            if action == "train":
                out = self._train(options)
            elif action == "evaluate":
                out = self._evaluate(options["file"], options["language"])
            else:
                out = self._classify(options["text"], options["language"])
        except (train_emotion.DataError, ValueError, TypeError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(out, indent=2, ensure_ascii=False))

    def _train(self, options) -> dict:
        language = options["language"]
        # the arguments first: a bad --cv is the caller's mistake whatever data this machine has
        cv = options["cv"]
        if cv is None:
            cv = train_emotion.TUNING_FOLDS[language]
        tune_on = "cv" if train_emotion.TUNING_FOLDS[language] else "dev"
        if cv == 1 or cv < 0 or (tune_on == "cv" and cv < 2):
            minimum = "at least 2 folds" if tune_on == "cv" else "at least 2 folds (or 0 to skip)"
            raise CommandError(f"--cv needs {minimum}")
        data_dir = _default_data_dir(language)
        paths = {}
        for key, name in (("train_path", "train.tsv"), ("dev_path", "dev.tsv")):
            if options.get(key):
                paths[key] = Path(options[key])
            elif data_dir is not None:
                paths[key] = data_dir / name
            else:
                flag = "--train" if key == "train_path" else "--dev"
                dataset = DATASET.parent / train_emotion.DATASETS[language]
                raise CommandError(f"no default data found at ../{dataset}; pass {flag} PATH")
            if not paths[key].is_file():
                raise CommandError(f"{paths[key]}: no such file")
        english_path = None
        if train_emotion.TEACHER_WEIGHT.get(language, 0.0) > 0:
            if options.get("english_path"):
                english_path = Path(options["english_path"])
                if not english_path.is_file():
                    raise CommandError(f"{english_path}: no such file")
            elif (english_dir := _default_data_dir("en")) is not None:
                english_path = english_dir / "train.tsv"
        out_dir = Path(options["out_dir"]) if options.get("out_dir") else emotion.DATA_DIR
        verbose = options.get("verbosity", 1) >= 1
        _, results = train_emotion.train(
            paths["train_path"],
            paths["dev_path"],
            out_dir=out_dir,
            cv=cv,
            language=language,
            tune_on=tune_on,
            english_path=english_path,
            log=(lambda msg: self.stderr.write(msg)) if verbose else (lambda msg: None),
        )
        if out_dir.resolve() == emotion.DATA_DIR.resolve():
            emotion.reset_model()
        results["out"] = str(out_dir)
        return results

    def _evaluate(self, path: str, language: str) -> dict:
        texts, gold = train_emotion.load_tsv(path)
        model = emotion.get_model(language)
        out = {"language": language, "tuned_on": model.metadata.get("tuned_on", "")}
        out.update(train_emotion.evaluate(model, texts, gold))
        out["model_bytes"] = train_emotion.model_bytes(language=language)
        return out

    def _classify(self, text: str, language: str | None) -> dict:
        result = emotion.classify(text, language)
        return {
            "models": list(result.languages),
            "label": result.label,
            "confidence": round(result.confidence, 4),
            "labels": list(result.labels),
            "scores": {k: round(v, 4) for k, v in result.scores.items()},
        }
