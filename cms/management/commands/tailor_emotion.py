"""``manage.py tailor_emotion train|evaluate|classify``: the shipped emotion classifier.

- ``train [--train PATH] [--dev PATH] [--out DIR] [--cv K]`` fits on train, tunes on dev and writes
  the model files (default: the shipped `rules/ml/data/`). ``--cv K`` also reports an honest dev
  figure, tuned by K-fold cross-validation on train only (slower).
- ``evaluate FILE.tsv`` prints JSON: macro-F1, per-label F1, row count, latency, model size.
- ``classify TEXT`` prints JSON: label, confidence, label set and scores.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from rules.ml import emotion, train_emotion

DATASET = Path("shared") / "data" / "goemotions-ekman"


def _default_data_dir() -> Path | None:
    """The GoEmotions data shipped beside the repository (``../shared/data/goemotions-ekman``)."""
    roots = []
    base_dir = getattr(settings, "BASE_DIR", None)
    if base_dir:
        roots.append(Path(base_dir).resolve().parent)
    roots.append(Path(__file__).resolve().parents[4])  # the repository's parent, in a checkout
    for root in roots:
        if (root / DATASET).is_dir():
            return root / DATASET
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
            "--cv", type=int, default=0, help="also report dev tuned by K-fold cross-validation on train"
        )

        p_eval = sub.add_parser("evaluate", help="score a GoEmotions TSV file; prints JSON")
        p_eval.add_argument("file", help="GoEmotions TSV (text, label ids, id)")

        p_classify = sub.add_parser("classify", help="classify one text; prints JSON")
        p_classify.add_argument("text")

    def handle(self, *args, action: str, **options):
        try:
            if action == "train":
                out = self._train(options)
            elif action == "evaluate":
                out = self._evaluate(options["file"])
            else:
                out = self._classify(options["text"])
        except (train_emotion.DataError, ValueError, TypeError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(out, indent=2, ensure_ascii=False))

    def _train(self, options) -> dict:
        data_dir = _default_data_dir()
        paths = {}
        for key, name in (("train_path", "train.tsv"), ("dev_path", "dev.tsv")):
            if options.get(key):
                paths[key] = Path(options[key])
            elif data_dir is not None:
                paths[key] = data_dir / name
            else:
                flag = "--train" if key == "train_path" else "--dev"
                raise CommandError(f"no default data found at ../{DATASET}; pass {flag} PATH")
            if not paths[key].is_file():
                raise CommandError(f"{paths[key]}: no such file")
        out_dir = Path(options["out_dir"]) if options.get("out_dir") else emotion.DATA_DIR
        if options["cv"] == 1 or options["cv"] < 0:
            raise CommandError("--cv needs at least 2 folds (or 0 to skip)")
        verbose = options.get("verbosity", 1) >= 1
        _, results = train_emotion.train(
            paths["train_path"],
            paths["dev_path"],
            out_dir=out_dir,
            cv=options["cv"],
            log=(lambda msg: self.stderr.write(msg)) if verbose else (lambda msg: None),
        )
        if out_dir.resolve() == emotion.DATA_DIR.resolve():
            emotion.reset_model()
        results["out"] = str(out_dir)
        return results

    def _evaluate(self, path: str) -> dict:
        texts, gold = train_emotion.load_tsv(path)
        model = emotion.get_model()
        out = train_emotion.evaluate(model, texts, gold)
        out["model_bytes"] = train_emotion.model_bytes()
        return out

    def _classify(self, text: str) -> dict:
        result = emotion.classify(text)
        return {
            "label": result.label,
            "confidence": round(result.confidence, 4),
            "labels": list(result.labels),
            "scores": {k: round(v, 4) for k, v in result.scores.items()},
        }
