"""The theme picker: a radio button per theme, each with its thumbnail (palette and type specimen)."""

from __future__ import annotations

from django import forms


class ThemePicker(forms.RadioSelect):
    template_name = "tailor_themes/widgets/theme_picker.html"
    option_template_name = "tailor_themes/widgets/theme_picker_option.html"
