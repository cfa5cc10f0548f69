"""Kept for sites that import the settings accessor from here; it lives in `tailor.settings`."""

from tailor.settings import DEFAULTS, TailorSettings, on_reload, tailor_settings

__all__ = ["DEFAULTS", "TailorSettings", "on_reload", "tailor_settings"]
