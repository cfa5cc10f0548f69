"""Line charts for the experiment review: inline SVG (readable without JavaScript, and by screen
readers through its title, description and a data table beside it) and the same chart as a PNG
drawn with Pillow for download.

Both take a list of `ChartSeries` (one per variant) whose points are ``(datetime, value in 0..1)``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from PIL import Image, ImageDraw, ImageFont

#: colour-blind-safe (Okabe-Ito), one per variant, repeating
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 40


@dataclass(frozen=True)
class ChartSeries:
    name: str
    points: list[tuple[datetime, float]]


def _scales(series: list[ChartSeries]):
    times = [t for s in series for t, _ in s.points]
    values = [v for s in series for _, v in s.points]
    t0, t1 = (min(times), max(times)) if times else (None, None)
    top = max(values) if values else 1.0
    # round the top of the axis up to a readable step
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0):
        if top <= step * 5:
            break
    ymax = min(1.0, max(step, step * -(-top // step))) if top > 0 else 1.0
    span = (t1 - t0).total_seconds() if t0 and t1 and t1 > t0 else 1.0

    def x(t: datetime) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (((t - t0).total_seconds() / span) if t0 else 0.0)

    def y(v: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - v / ymax)

    n = max(1, round(ymax / step))
    every = 2 if n > 6 else 1
    ticks = [step * i for i in range(0, n + 1, every)]
    return x, y, ticks, t0, t1


def line_chart_svg(series: list[ChartSeries], title: str) -> SafeString:
    x, y, ticks, t0, t1 = _scales(series)
    grid = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#ddd"/>'
        '<text x="{}" y="{}" text-anchor="end" font-size="11" fill="#555">{}</text>',
        (
            (LEFT, WIDTH - RIGHT, f"{y(v):.1f}", f"{y(v):.1f}", LEFT - 6, f"{y(v) + 4:.1f}", f"{v * 100:.0f}%")
            for v in ticks
        ),
    )
    lines = format_html_join(
        "",
        '<polyline fill="none" stroke="{}" stroke-width="2" points="{}"><title>{}</title></polyline>',
        (
            (PALETTE[i % len(PALETTE)], " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in s.points), s.name)
            for i, s in enumerate(series)
            if s.points
        ),
    )
    legend = format_html_join(
        "",
        '<rect x="{}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}" font-size="12">{}</text>',
        (
            (LEFT + 160 * i, HEIGHT - 14, PALETTE[i % len(PALETTE)], LEFT + 160 * i + 14, HEIGHT - 5, s.name)
            for i, s in enumerate(series)
        ),
    )
    axis = ""
    if t0 and t1:
        axis = format_html(
            '<text x="{}" y="{}" font-size="11" fill="#555">{}</text>'
            '<text x="{}" y="{}" font-size="11" fill="#555" text-anchor="end">{}</text>',
            LEFT,
            HEIGHT - BOTTOM + 14,
            f"{t0:%Y-%m-%d %H:00}",
            WIDTH - RIGHT,
            HEIGHT - BOTTOM + 14,
            f"{t1:%Y-%m-%d %H:00}",
        )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="100%" role="img" '
        'class="tailor-chart"><title>{}</title>'
        '<text x="{}" y="16" font-size="13" font-weight="bold">{}</text>{}{}{}{}</svg>',
        WIDTH,
        HEIGHT,
        title,
        LEFT,
        title,
        grid,
        axis,
        lines,
        legend,
    )


def line_chart_png(series: list[ChartSeries], title: str, scale: int = 2) -> bytes:
    """The same chart as `line_chart_svg`, as PNG bytes (drawn at `scale` times the size)."""
    x, y, ticks, t0, t1 = _scales(series)
    image = Image.new("RGB", (WIDTH * scale, HEIGHT * scale), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=11 * scale)
    bold = ImageFont.load_default(size=13 * scale)

    def s(*xy):
        return [c * scale for c in xy]

    draw.text(s(LEFT, 4), title, fill="black", font=bold)
    for v in ticks:
        draw.line(s(LEFT, y(v), WIDTH - RIGHT, y(v)), fill="#dddddd", width=scale)
        draw.text(s(LEFT - 6, y(v)), f"{v * 100:.0f}%", fill="#555555", font=font, anchor="rm")
    if t0 and t1:
        draw.text(s(LEFT, HEIGHT - BOTTOM + 4), f"{t0:%Y-%m-%d %H:00}", fill="#555555", font=font)
        draw.text(s(WIDTH - RIGHT, HEIGHT - BOTTOM + 4), f"{t1:%Y-%m-%d %H:00}", fill="#555555", font=font, anchor="ra")
    for i, serie in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        points = [(x(t) * scale, y(v) * scale) for t, v in serie.points]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2 * scale, joint="curve")
        elif points:
            px, py = points[0]
            draw.ellipse((px - 3 * scale, py - 3 * scale, px + 3 * scale, py + 3 * scale), fill=colour)
        lx = LEFT + 160 * i
        draw.rectangle(s(lx, HEIGHT - 14, lx + 10, HEIGHT - 4), fill=colour)
        draw.text(s(lx + 14, HEIGHT - 15), serie.name, fill="black", font=font)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
