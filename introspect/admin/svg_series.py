"""Server-side SVG for series: a gate signal across turns against its threshold, accuracy@t curves,
and a trajectory's timing waterfall. Same rules as ``introspect.admin.svg``: text escaped, numbers
formatted, styling by class only (the CSP allows no inline style, and no script draws anything)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from introspect.admin.svg import _n, _svg
from introspect.admin.views.gate import Series
from introspect.admin.views.waterfall import Step


def _text(cls: str, x: float, y: float, content: str, anchor: str = "start") -> str:
    """A text element; ``content`` must already be escaped."""
    return f'<text class="{cls}" x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}">{content}</text>'


def _points(coords: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{_n(x)},{_n(y)}" for x, y in coords)


def _fmt(x: float) -> str:
    return f"{x:.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def signal_chart(series: Series, *, width: float = 240, height: float = 110) -> Markup:
    """One gate input across the decisions of a trajectory; the dashed line is its threshold, points
    on the wrong side of it are drawn as ``bad``."""
    left, right, top, bottom = 48.0, 10.0, 18.0, 22.0
    values = [p.value for p in series.points]
    bounds = values + ([series.threshold] if series.threshold is not None else [])
    low, high = min(bounds), max(bounds)
    if high == low:
        low, high = low - 1.0, high + 1.0
    pad = (high - low) * 0.12
    low, high = low - pad, high + pad
    turns = [p.turn_index for p in series.points]
    first, last = min(turns), max(turns)
    span = max(1, last - first)
    plot_w, plot_h = width - left - right, height - top - bottom

    def x_of(turn: int) -> float:
        return left + (plot_w * (turn - first) / span if last > first else plot_w / 2)

    def y_of(value: float) -> float:
        return top + plot_h * (1 - (value - low) / (high - low))

    title = series.signal.label + (
        f" (threshold {_fmt(series.threshold)})" if series.threshold is not None else ""
    )
    body = [
        f'<text class="series-title" x="{_n(left)}" y="12">{escape(series.signal.label)}'
        f"{' · ' + escape(series.signal.unit) if series.signal.unit else ''}</text>",
        f'<rect class="frame" x="{_n(left)}" y="{_n(top)}" width="{_n(plot_w)}" height="{_n(plot_h)}"/>',
        _text("tick", left - 4, top + 8, _fmt(high - pad), "end"),
        _text("tick", left - 4, top + plot_h, _fmt(low + pad), "end"),
    ]
    if series.threshold is not None:
        ty = y_of(series.threshold)
        body.append(
            f'<line class="threshold" x1="{_n(left)}" y1="{_n(ty)}" x2="{_n(left + plot_w)}" y2="{_n(ty)}">'
            f"<title>threshold {escape(_fmt(series.threshold))}</title></line>"
        )
    coords = [(x_of(p.turn_index), y_of(p.value)) for p in series.points]
    if len(coords) > 1:
        body.append(f'<polyline class="curve" points="{_points(coords)}"/>')
    for p, (x, y) in zip(series.points, coords, strict=True):
        ok = True
        if series.threshold is not None:
            ok = (
                p.value >= series.threshold
                if series.signal.passes == "above"
                else p.value <= series.threshold
            )
        body.append(
            f'<circle class="dot {"ok" if ok else "bad"}" cx="{_n(x)}" cy="{_n(y)}" r="3.5">'
            f"<title>turn {p.turn_index}: {escape(_fmt(p.value))}</title></circle>"
        )
    for turn in sorted(set(turns)):
        body.append(_text("tick", x_of(turn), height - 6, str(turn), "middle"))
    return _svg(width, height, title, body, "signal")


@dataclass(frozen=True)
class Curve:
    name: str
    values: Sequence[float | None]  # one per t = 1..T, in [0, 1]


def accuracy_chart(curves: Sequence[Curve], *, title: str, width: float = 360, height: float = 200) -> Markup:
    """accuracy@t for t = 1..T, one line per group (classes c0..c5 pick the colours)."""
    left, right, top, bottom = 36.0, 110.0, 10.0, 28.0
    plot_w, plot_h = width - left - right, height - top - bottom
    steps = max((len(c.values) for c in curves), default=1)

    def x_of(t: int) -> float:
        return left + (plot_w * (t - 1) / (steps - 1) if steps > 1 else plot_w / 2)

    def y_of(v: float) -> float:
        return top + plot_h * (1 - v)

    body = [f'<rect class="frame" x="{_n(left)}" y="{_n(top)}" width="{_n(plot_w)}" height="{_n(plot_h)}"/>']
    for v in (0.0, 0.5, 1.0):
        body.append(_text("tick", left - 4, y_of(v) + 4, f"{v * 100:.0f}%", "end"))
    for t in range(1, steps + 1):
        body.append(_text("tick", x_of(t), top + plot_h + 14, f"t{t}", "middle"))
    for i, curve in enumerate(curves):
        pts = [(x_of(t), y_of(v)) for t, v in enumerate(curve.values, start=1) if v is not None]
        cls = f"c{i % 6}"
        if len(pts) > 1:
            body.append(f'<polyline class="curve {cls}" points="{_points(pts)}"/>')
        for x, y in pts:
            body.append(f'<circle class="dot {cls}" cx="{_n(x)}" cy="{_n(y)}" r="3"/>')
        ly = top + 12 + 16 * i
        body.append(
            f'<line class="curve {cls}" x1="{_n(left + plot_w + 10)}" y1="{_n(ly - 4)}" '
            f'x2="{_n(left + plot_w + 24)}" y2="{_n(ly - 4)}"/>'
            + _text("label", left + plot_w + 28, ly, str(escape(curve.name[:16])))
        )
    return _svg(width, height, title, body, "accuracy")


def waterfall_chart(spans: Sequence[Step], *, title: str, width: float = 760, row: float = 20) -> Markup:
    """Horizontal bars on one time axis from the trajectory's start."""
    left, right = 250.0, 70.0
    end = max((s.start_ms + s.duration_ms for s in spans), default=1.0) or 1.0
    plot_w = width - left - right
    body: list[str] = []
    for i, s in enumerate(spans):
        y = 6 + i * (row + 4)
        x = left + plot_w * s.start_ms / end
        w = max(1.5, plot_w * s.duration_ms / end)
        body.append(
            _text("label", left - 6, y + row * 0.7, str(escape(s.label)), "end")
            + f'<rect class="span {escape(s.kind)}" x="{_n(x)}" y="{_n(y)}" '
            f'width="{_n(w)}" height="{_n(row)}"><title>{escape(s.hint)}</title></rect>'
            + _text("value", x + w + 4, y + row * 0.7, str(escape(_ms(s.duration_ms))))
        )
    height = 12 + len(spans) * (row + 4) + 16
    body.append(
        _text("tick", left, height - 4, "0") + _text("tick", left + plot_w, height - 4, _ms(end), "end")
    )
    return _svg(width, height, title, body, "waterfall")


def _ms(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"
