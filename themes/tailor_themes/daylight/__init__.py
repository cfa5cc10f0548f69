"""The bundled daylight theme: theme.json, templates/, static/ (a package only so the wheel carries them)."""
