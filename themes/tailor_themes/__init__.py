"""Themes bundled with Tailor (a package only so the wheel carries their files: setuptools package-data)."""
