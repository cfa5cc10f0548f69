"""The bundled midnight theme: theme.json, templates/, static/ (a package only so the wheel carries them)."""
