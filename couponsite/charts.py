"""Bar and line charts as SVG drawn on the server: no JavaScript, nothing fetched.

``chart_svg`` returns one ``<svg>`` element (a string, escaped) with its axes,
labels, a legend with each series' total, and for screen readers a ``<title>``
and a ``<desc>`` naming what it shows; every bar and point has its own
``<title>`` (the browser shows it on hover). The drawing scales to its
container (``viewBox``); text uses ``currentColor``, so it follows the page's
light or dark theme.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from itertools import count

from django.utils.translation import gettext, ngettext

# Okabe-Ito colours: told apart with any of the common colour blindnesses.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9")
WIDTH, HEIGHT = 1000, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 48, 44
MAX_X_LABELS = 12
_ids = count(1)


@dataclass(frozen=True)
class Series:
    """A named row of values, one per bucket of the chart."""

    name: str
    values: Sequence[int]


@dataclass(frozen=True)
class Chart:
    """What a room hands the page: a title and its series over the same buckets."""

    title: str
    series: Sequence[Series]


def nice_ceiling(value: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50… at least ``value`` (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return int(step * power)
    return int(10 * power)  # pragma: no cover - the loop always returns


def label_every(buckets: int, most: int = MAX_X_LABELS) -> int:
    """Label every n-th bucket, n a round number, so at most ``most`` labels show."""
    for step in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 360):
        if math.ceil(buckets / step) <= most:
            return step
    return math.ceil(buckets / most)


def _number(value: int) -> str:
    return f"{value:,}"


def chart_svg(
    *,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    kind: str = "bar",
    description: str = "",
    ticks: Sequence[int] | None = None,
) -> str:
    """One chart of ``series`` over the buckets named by ``labels``.

    ``kind`` is ``bar`` (the series side by side in each bucket) or ``line``.
    ``ticks``: the buckets to label (default: every n-th from the first, at
    most ``MAX_X_LABELS``).
    """
    if kind not in ("bar", "line"):
        raise ValueError("kind is bar or line")
    if any(len(s.values) != len(labels) for s in series):
        raise ValueError("every series has one value per label")
    uid = f"chart-{next(_ids)}"
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    # At least 5, so the five grid steps are whole numbers (counts are).
    top = max(5, nice_ceiling(max((v for s in series for v in s.values), default=0)))
    n = max(len(labels), 1)
    slot = plot_w / n

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * value / top

    totals = ", ".join(f"{s.name} {_number(sum(s.values))}" for s in series)
    summary = description or (
        ngettext(
            "%(count)d bucket from %(first)s to %(last)s; totals: %(totals)s.",
            "%(count)d buckets from %(first)s to %(last)s; totals: %(totals)s.",
            len(labels),
        )
        % {
            "count": len(labels),
            "first": labels[0],
            "last": labels[-1],
            "totals": totals,
        }
        if labels
        else gettext("No buckets.")
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{uid}-title {uid}-desc" '
        f'font-family="sans-serif" font-size="13" fill="currentColor">',
        f'<title id="{uid}-title">{escape(title)}</title>',
        f'<desc id="{uid}-desc">{escape(summary)}</desc>',
        f'<text x="{LEFT}" y="18" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    # Legend, right-aligned on the title's line: a swatch, the name and the total.
    x = WIDTH - RIGHT
    legend = []
    for number, s in reversed(list(enumerate(series))):
        text = f"{s.name} ({_number(sum(s.values))})"
        x -= 8 * len(text) + 26
        legend.append(
            f'<g><rect x="{x}" y="8" width="12" height="12" fill="{PALETTE[number % len(PALETTE)]}"/>'
            f'<text x="{x + 17}" y="18">{escape(text)}</text></g>'
        )
    out.append(f'<g class="legend">{"".join(reversed(legend))}</g>')
    # The y axis: five grid lines with their values.
    out.append('<g class="y-axis" text-anchor="end">')
    for step in range(6):
        value = top * step / 5
        line_y = round(y(value), 1)
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{line_y}" y2="{line_y}" '
            f'stroke="currentColor" stroke-opacity="{0.5 if step == 0 else 0.15}"/>'
            f'<text x="{LEFT - 6}" y="{line_y + 4}">{_number(round(value)) if value == int(value) else f"{value:g}"}</text>'
        )
    out.append("</g>")
    # The x axis: every n-th bucket's label under its tick.
    if ticks is None:
        ticks = range(0, len(labels), label_every(len(labels)))
    out.append('<g class="x-axis" text-anchor="middle">')
    for number in ticks:
        label = labels[number]
        tick_x = round(LEFT + slot * (number + 0.5), 1)
        out.append(
            f'<line x1="{tick_x}" x2="{tick_x}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 5}" stroke="currentColor"/>'
            f'<text x="{tick_x}" y="{TOP + plot_h + 20}">{escape(label)}</text>'
        )
    out.append("</g>")
    for number, s in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        name = escape(s.name)
        out.append(f'<g class="series" fill="{colour}" stroke="{colour}">')
        if kind == "bar":
            width = slot * 0.8 / max(len(series), 1)
            for bucket, value in enumerate(s.values):
                if not value:
                    continue
                bar_x = LEFT + slot * (bucket + 0.1) + width * number
                bar_y = y(value)
                out.append(
                    f'<rect x="{bar_x:.1f}" y="{bar_y:.1f}" width="{max(width, 0.5):.1f}" '
                    f'height="{TOP + plot_h - bar_y:.1f}" stroke="none">'
                    f"<title>{escape(labels[bucket])}: {name} {_number(value)}</title></rect>"
                )
        else:
            points = " ".join(
                f"{LEFT + slot * (bucket + 0.5):.1f},{y(value):.1f}"
                for bucket, value in enumerate(s.values)
            )
            out.append(f'<polyline points="{points}" fill="none" stroke-width="2"/>')
            for bucket, value in enumerate(s.values):
                if value:
                    out.append(
                        f'<circle cx="{LEFT + slot * (bucket + 0.5):.1f}" cy="{y(value):.1f}" r="2.5" stroke="none">'
                        f"<title>{escape(labels[bucket])}: {name} {_number(value)}</title></circle>"
                    )
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)
