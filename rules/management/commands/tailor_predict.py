"""Train, check and inspect the conversion-likelihood model.

    manage.py tailor_predict evaluate FILE.csv [--folds 5]   # cross-validated AUC, AP, Brier on a CSV
    manage.py tailor_predict evaluate FILE.csv --model       # the active model on FILE (unseen sessions)
    manage.py tailor_predict evaluate FILE.csv --shipped     # the packaged model (trained on train.csv) on FILE
    manage.py tailor_predict train                           # from the site's consented journeys
    manage.py tailor_predict train --csv FILE.csv            # trees from FILE when the site has too few
    manage.py tailor_predict train --csv FILE.csv --ship     # write the packaged model (rules/ml/data/)
    manage.py tailor_predict export FILE.csv                 # the site's sessions in the dataset's format
    manage.py tailor_predict spread                          # likelihood by device, segment, entry
    manage.py tailor_predict bench                           # request-time latency (p50 / p99)

FILE.csv is in the Online Shoppers Purchasing Intention format (`../shared/data/online-shoppers/`).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from rules import journeys
from rules.engine.prediction import FEATURES, predict_likelihood
from rules.ml import predict as ml


class Command(BaseCommand):
    help = "Train, evaluate and inspect Tailor's conversion-likelihood model."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        ev = sub.add_parser("evaluate", help="AUC, average precision and Brier score on a dataset-format CSV")
        ev.add_argument("file")
        ev.add_argument("--folds", type=int, default=5)
        ev.add_argument("--seed", type=int, default=0)
        ev.add_argument(
            "--model", action="store_true", help="score the active model on FILE instead of cross-validating"
        )
        ev.add_argument("--shipped", action="store_true", help="score the packaged model (rules/ml/data) on FILE")
        tr = sub.add_parser("train", help="train from the site's consented journeys")
        tr.add_argument("--csv", help="a dataset-format CSV for the trees when the site has too few sessions")
        tr.add_argument("--min-sessions", type=int, default=500)
        tr.add_argument("--min-conversions", type=int, default=20)
        tr.add_argument("--ship", action="store_true", help="with --csv: write the packaged model files")
        tr.add_argument("--output", help="with --ship: the directory (default rules/ml/data)")
        tr.add_argument("--folds", type=int, default=5, help="with --ship: folds for the figures kept in the meta")
        ex = sub.add_parser("export", help="write the site's sessions as a dataset-format CSV")
        ex.add_argument("file")
        sp = sub.add_parser("spread", help="predicted likelihood by device, segment and entry source (JSON)")
        sp.add_argument("--threshold", type=float, default=0.5)
        be = sub.add_parser("bench", help="request-time latency of the model (probability and reasons)")
        be.add_argument("--repeat", type=int, default=5000)

    def handle(self, *args, **opts):
        try:
            getattr(self, "do_" + opts["action"])(opts)
        except ml.DataError as e:
            raise CommandError(str(e)) from None

    def _figures(self, m: dict) -> str:
        return (
            f"AUC {m['auc']:.4f}  average precision {m['average_precision']:.4f}  Brier {m['brier']:.4f}  "
            f"calibration error (ECE, 10 bins) {m['ece']:.4f}  (converting {m['positive_rate']:.1%}, "
            f"mean prediction {m['mean_prediction']:.1%})"
        )

    def do_evaluate(self, opts):
        X, y = ml.load_csv(opts["file"])
        if opts["model"] or opts["shipped"]:
            model = ml.load() if opts["shipped"] else journeys.current_model()[0]
            m = ml.metrics(y.astype(float), model.probability_many(X))
            which = (
                "the packaged model"
                if opts["shipped"]
                else f"the active model (trees from {model.meta.get('trees_from')})"
            )
            self.stdout.write(f"{len(y)} sessions, {which}, no training on them")
        else:
            m, _oof = ml.evaluate_cv(X, y, opts["folds"], seed=opts["seed"], log=lambda s: self.stderr.write(s))
            self.stdout.write(
                f"{len(y)} sessions, {opts['folds']}-fold cross-validation (gradient boosting, numpy evaluator)"
            )
        self.stdout.write(self._figures(m))

    def do_train(self, opts):
        if opts["ship"]:
            if not opts["csv"]:
                raise CommandError("--ship needs --csv FILE")
            X, y = ml.load_csv(opts["csv"])
            cv, _oof = ml.evaluate_cv(X, y, opts["folds"], log=lambda s: self.stderr.write(s))
            model = ml.export(
                ml.train_model(X, y),
                meta={
                    "trees_from": "csv",
                    "trained_on": str(opts["csv"]).rsplit("/", 1)[-1],
                    "sessions": len(y),
                    "params": ml.DEFAULT_PARAMS,
                    "cv": {k: round(v, 4) for k, v in cv.items()},
                    "trained_at": datetime.now(UTC).date().isoformat(),
                },
            )
            paths = ml.save(model, opts["output"] or ml.DATA_DIR)
            self.stdout.write(f"cross-validated: {self._figures(cv)}")
            self.stdout.write("wrote " + ", ".join(f"{p} ({p.stat().st_size:,} bytes)" for p in paths))
            return
        row = journeys.train_from_site(
            min_sessions=opts["min_sessions"],
            min_conversions=opts["min_conversions"],
            csv_path=opts["csv"],
            log=self.stdout.write,
        )
        meta = row.meta
        self.stdout.write(
            f"saved prediction model #{row.pk}: trees from {meta['trees_from']}, {meta['sessions']} sessions, "
            f"{meta['conversions']} conversions, {len(meta['site']['pages'])} pages valued, "
            f"{len(meta['site']['next_sections'])} sections with next-section odds"
        )
        if "train_metrics" in meta:
            self.stdout.write(f"on the site's own sessions (not held out): {self._figures(meta['train_metrics'])}")

    def do_export(self, opts):
        _model, table = journeys.current_model()
        pairs = list(ml.completed_sessions(p.journey for p in journeys.consented_journeys()))
        with open(opts["file"], "w", newline="", encoding="utf-8") as handle:
            n = ml.write_csv(pairs, table, handle)
        self.stdout.write(f"wrote {n} sessions to {opts['file']}")

    def do_spread(self, opts):
        self.stdout.write(json.dumps(journeys.likelihood_spread(threshold=opts["threshold"]), indent=1, sort_keys=True))

    def do_bench(self, opts):
        model, _table = journeys.current_model()
        rng = np.random.default_rng(0)
        rows = [
            dict(zip(FEATURES, r, strict=True))
            for r in np.abs(rng.normal(size=(64, len(FEATURES)))) * [3, 90, 1, 30, 30, 1200, 0.02, 0.04, 5, 6, 1, 1]
        ]
        xs = [np.array([r[f] for f in model.features]) for r in rows]
        for label, fn in (
            ("probability", lambda i: model.probability(xs[i % 64])),
            ("probability + reasons", lambda i: predict_likelihood(model, rows[i % 64])),
        ):
            times, cpu = [], []
            for i in range(opts["repeat"]):
                t, c = time.perf_counter(), time.thread_time()
                fn(i)
                cpu.append(time.thread_time() - c)
                times.append(time.perf_counter() - t)
            ms, cpu_ms = np.array(times) * 1000, np.array(cpu) * 1000
            # the CPU time leaves out the time the process was descheduled (a busy machine's p99)
            self.stdout.write(
                f"{label}: p50 {np.median(ms):.4f} ms, p99 {np.quantile(ms, 0.99):.4f} ms "
                f"(CPU time p50 {np.median(cpu_ms):.4f} ms, p99 {np.quantile(cpu_ms, 0.99):.4f} ms; "
                f"{model.feature.shape[0]} trees of depth {model.depth})"
            )
