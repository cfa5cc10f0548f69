"""wagtail-personalisation 1.0 measured beside Tailor (issue 13): see `run.py`."""

from benchmarks.wagtail_personalisation.run import beside_tailor, wagtail_personalisation_figures

__all__ = ["beside_tailor", "wagtail_personalisation_figures"]
