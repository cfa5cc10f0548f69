"""A theme's thumbnail for the admin's picker: its palette and a type specimen, drawn with Pillow.

Drawn once per theme version and file stamp, then kept in Django's cache (PNG bytes).
"""

from __future__ import annotations

import hashlib
import io

from django.core.cache import cache
from django.utils.translation import get_language, gettext
from PIL import Image, ImageDraw, ImageFont

from themes.theme import PALETTE_KEYS, Theme

SIZE = (480, 300)
CACHE_SECONDS = 24 * 3600


def _font(size: int):
    return ImageFont.load_default(size=size)


def draw_thumbnail(theme: Theme) -> bytes:
    p = theme.palette
    img = Image.new("RGB", SIZE, p["background"])
    d = ImageDraw.Draw(img)
    w, h = SIZE
    d.text((24, 18), theme.display_label, fill=p["muted"], font=_font(20))
    d.text((24, 44), "Aa", fill=p["text"], font=_font(72))
    d.text((150, 62), gettext("Heading"), fill=p["text"], font=_font(30))
    d.text((150, 100), gettext("Body text: the quick brown fox"), fill=p["muted"], font=_font(16))
    # a personalized region: the surface card with a link and the accent button
    d.rounded_rectangle((24, 140, w - 24, 226), radius=14, fill=p["surface"], outline=p["border"], width=2)
    d.text((42, 152), gettext("A link in the text"), fill=p["link"], font=_font(18))
    d.rounded_rectangle((42, 182, 222, 214), radius=16, fill=p["accent"])
    d.text((62, 188), gettext("Button"), fill=p["accent_text"], font=_font(18))
    # the palette, one swatch per colour
    sw = (w - 48) / len(PALETTE_KEYS)
    for i, key in enumerate(PALETTE_KEYS):
        x = 24 + i * sw
        d.rectangle((x, 244, x + sw - 6, h - 20), fill=p[key], outline=p["border"])
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def thumbnail(theme: Theme) -> bytes:
    """The theme's thumbnail, from the cache when this version of it was drawn before."""
    stamp = hashlib.blake2b(
        repr((theme.name, theme.version, theme.palette, theme.stamp, get_language())).encode(), digest_size=8
    )
    key = f"tailor:theme-thumbnail:{theme.name}:{stamp.hexdigest()}"
    png = cache.get(key)
    if png is None:
        png = draw_thumbnail(theme)
        cache.set(key, png, CACHE_SECONDS)
    return png
