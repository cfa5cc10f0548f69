from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from tailor.settings import DEFAULTS, tailor_settings

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_apply_when_a_key_is_not_set():
    with override_settings(TAILOR={}):
        assert tailor_settings.STATS_REFRESH_SECONDS == DEFAULTS["STATS_REFRESH_SECONDS"] == 3


def test_values_reload_when_settings_change():
    with override_settings(TAILOR={"STATS_REFRESH_SECONDS": 1}):
        assert tailor_settings.STATS_REFRESH_SECONDS == 1
    with override_settings(TAILOR={"STATS_REFRESH_SECONDS": 9}):
        assert tailor_settings.STATS_REFRESH_SECONDS == 9


def test_unknown_keys_are_refused_with_the_valid_ones_listed():
    with override_settings(TAILOR={"STATS_REFRESH_SECOND": 1}):
        with pytest.raises(ImproperlyConfigured, match="Unknown TAILOR setting.*STATS_REFRESH_SECOND.*Valid keys"):
            _ = tailor_settings.STATS_REFRESH_SECONDS


def test_reading_a_setting_that_does_not_exist_is_an_error():
    with pytest.raises(AttributeError, match="Invalid TAILOR setting"):
        _ = tailor_settings.NOT_A_SETTING


def test_an_unknown_key_stops_the_site_at_start_up(tmp_path):
    import subprocess
    import sys

    (tmp_path / "bad_settings.py").write_text("from tests.settings import *\nTAILOR = {'REDIS_URI': 'x'}\n")
    env = {"DJANGO_SETTINGS_MODULE": "bad_settings", "PYTHONPATH": f"{tmp_path}:{ROOT}"}
    run = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True, text=True
    )

    assert run.returncode != 0
    assert "Unknown TAILOR setting(s): REDIS_URI" in run.stderr
