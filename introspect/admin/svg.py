"""Server-side SVG charts for the dashboard: bars, ROC curves and reliability diagrams.

Markup is assembled here rather than in templates because coordinates are arithmetic; every piece of
text goes through ``markupsafe.escape`` and every number through ``_n``, so the result is safe to
embed. Styling is by class (admin.css), since the CSP allows no inline ``style``.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from introspect.admin.views.calibration import ReliabilityBin


def _n(x: float) -> str:
    return f"{x:.2f}"


def _svg(width: float, height: float, title: str, body: list[str], css_class: str) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {escape(css_class)}" role="img" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" height="{_n(height)}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    )
    return Markup(head + "".join(body) + "</svg>")


def bar_chart(
    bars: Sequence[tuple[str, float]],
    *,
    title: str,
    max_value: float | None = None,
    percent: bool = False,
    width: float = 460,
    label_width: float = 150,
    bar_height: float = 20,
) -> Markup:
    """Horizontal bars, one per (label, value)."""
    top = max_value if max_value is not None else max((v for _, v in bars), default=0.0)
    top = top or 1.0
    plot = width - label_width - 60
    body: list[str] = []
    for i, (label, value) in enumerate(bars):
        y = i * (bar_height + 6)
        length = max(0.0, plot * value / top)
        text = f"{value * 100:.0f}%" if percent else f"{value:g}"
        body.append(
            f'<text class="label" x="{_n(label_width - 6)}" y="{_n(y + bar_height * 0.7)}" '
            f'text-anchor="end">{escape(label)}</text>'
            f'<rect class="bar" x="{_n(label_width)}" y="{_n(y)}" width="{_n(length)}" '
            f'height="{_n(bar_height)}"/>'
            f'<text class="value" x="{_n(label_width + length + 4)}" y="{_n(y + bar_height * 0.7)}">'
            f"{escape(text)}</text>"
        )
    height = max(1, len(bars)) * (bar_height + 6)
    return _svg(width, height, title, body, "bars")


_SIZE = 220.0
_PAD = 34.0


def _frame(x_label: str, y_label: str) -> list[str]:
    """Axes box, 0/1 ticks and the diagonal every square [0,1] x [0,1] chart here shares."""
    s, p = _SIZE, _PAD
    return [
        f'<rect class="frame" x="{_n(p)}" y="4" width="{_n(s)}" height="{_n(s)}"/>',
        f'<line class="diagonal" x1="{_n(p)}" y1="{_n(s + 4)}" x2="{_n(p + s)}" y2="4"/>',
        f'<text class="tick" x="{_n(p)}" y="{_n(s + 18)}" text-anchor="middle">0</text>',
        f'<text class="tick" x="{_n(p + s)}" y="{_n(s + 18)}" text-anchor="middle">1</text>',
        f'<text class="tick" x="{_n(p - 4)}" y="{_n(s + 4)}" text-anchor="end">0</text>',
        f'<text class="tick" x="{_n(p - 4)}" y="12" text-anchor="end">1</text>',
        f'<text class="axis" x="{_n(p + s / 2)}" y="{_n(s + 30)}" text-anchor="middle">'
        f"{escape(x_label)}</text>",
        f'<text class="axis" x="12" y="{_n(4 + s / 2)}" text-anchor="middle" '
        f'transform="rotate(-90 12 {_n(4 + s / 2)})">{escape(y_label)}</text>',
    ]


def _xy(x: float, y: float) -> tuple[float, float]:
    return _PAD + x * _SIZE, 4 + (1 - y) * _SIZE


def roc_chart(points: Sequence[tuple[float, float]], *, title: str) -> Markup:
    body = _frame("false positive rate", "true positive rate")
    if points:
        coords = " ".join(f"{_n(cx)},{_n(cy)}" for cx, cy in (_xy(x, y) for x, y in points))
        body.append(f'<polyline class="curve" points="{coords}"/>')
    return _svg(_PAD + _SIZE + 8, _SIZE + 40, title, body, "roc")


def reliability_chart(bins: Sequence[ReliabilityBin], *, title: str, x_label: str) -> Markup:
    body = _frame(x_label, "accuracy")
    for b in bins:
        x0, y0 = _xy(b.low, b.accuracy)
        x1, _ = _xy(b.high, 0.0)
        height = 4 + _SIZE - y0
        hint = f"{b.low:.1f}–{b.high:.1f}: n={b.count}, accuracy {b.accuracy:.2f}"
        body.append(
            f'<rect class="bin" x="{_n(x0 + 1)}" y="{_n(y0)}" width="{_n(max(0.0, x1 - x0 - 2))}" '
            f'height="{_n(height)}"><title>{escape(hint)}</title></rect>'
        )
        cx, cy = _xy(b.mean_confidence, b.accuracy)
        body.append(f'<circle class="dot" cx="{_n(cx)}" cy="{_n(cy)}" r="3"/>')
    return _svg(_PAD + _SIZE + 8, _SIZE + 40, title, body, "reliability")
