"""Charts drawn on the server as inline SVG: no script, no chart library, no CDN, no internet (issue 9 item 2).

`layout(panel)` turns a panel's chart spec (portal.reports.Chart) into plain geometry: rectangles, circles, lines,
donut rings and text, each with the colour and the tooltip it needs. The Jinja macro in portal/_chart.html writes
that geometry out; labels travel here as data and are escaped by the template, never pasted into markup.
"""

from __future__ import annotations

import math
from decimal import Decimal

PALETTE = ("#337ab7", "#5cb85c", "#f0ad4e", "#d9534f", "#5bc0de", "#8e6bbf", "#8a6d3b", "#777777")
WIDTH = 720  # drawn at most this wide (portal.css), so that text keeps its size
LABEL_WIDTH = 150  # room for the category names of a bar chart
VALUE_WIDTH = 80  # room for the figure written after a bar
LEGEND_ROW = 18  # height of one line of the legend above a chart of several series


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def short(text: str, room: int = 22) -> str:
    """`text` cut to `room` narrow characters (a Chinese character counts two), with an ellipsis when cut.

    >>> short("华东分公司销售部第一销售小组客户服务中心", 12), short("Sales", 12)
    ('华东分公司…', 'Sales')
    """
    def wide(ch: str) -> int:
        return 2 if ord(ch) > 0x2E80 else 1

    if sum(wide(ch) for ch in text) <= room:
        return text
    used, kept = 0, []
    for ch in text:
        if used + wide(ch) > room - 1:
            break
        used += wide(ch)
        kept.append(ch)
    return "".join(kept) + "…"


def number(value) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    return None


def nice_step(span: float, ticks: int = 4, whole: bool = False) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) that divides `span` into about `ticks` parts; `whole`:
    counts, so never a fraction and never 2.5.

    >>> nice_step(1000), nice_step(7.3), nice_step(0), nice_step(9, whole=True), nice_step(2, whole=True)
    (250.0, 2.0, 1.0, 5.0, 1.0)
    """
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    step = float(next(m for m in steps if m * power >= raw) * power)
    return max(step, 1.0) if whole else step


def layout(panel) -> dict | None:
    """The geometry of `panel`'s chart (None when the panel has no chart). `empty` is set when there is nothing to
    draw (no rows, or only zeros and blanks): the page then says so instead of an empty frame."""
    chart = panel.chart
    if chart is None:
        return None
    rows = panel.rows[:chart.limit]
    category = panel.column(chart.category)
    series = [panel.column(key) for key in chart.values]
    labels = [category.display(row.get(chart.category)) for row in rows]
    values = [[number(row.get(key)) for key in chart.values] for row in rows]
    base = {"kind": chart.kind, "width": WIDTH, "rects": [], "circles": [], "lines": [], "rings": [], "texts": [],
            "axes": [], "legend": [], "series": [str(s.label) for s in series],
            "category": str(category.label), "shown": len(rows), "rows": len(panel.rows)}
    if not any(v for vs in values for v in vs if v is not None):
        return {**base, "empty": True, "height": 0}
    if chart.kind == "donut":
        return {**base, "empty": False, **_donut(labels, values, series)}
    legend, top = legend_items([str(s.label) for s in series]) if len(series) > 1 else ([], 4)
    draw = {"bar": _bars, "stacked": _stacked, "line": _line}[chart.kind]
    return {**base, "empty": False, **draw(labels, values, series, top), "legend": legend}


def legend_items(labels: list[str], width: int = WIDTH) -> tuple[list[dict], int]:
    """A legend of coloured squares and labels, wrapped onto as many lines as it needs; returns the items and the
    height it takes.

    >>> items, height = legend_items(["Amount (CNY)", "Gross profit (CNY)"])
    >>> [(i["x"], i["y"]) for i in items], height
    ([(10, 6), (130, 6)], 26)
    """
    items, x, y = [], 10, 6
    for i, label in enumerate(labels):
        text = short(label, 28)
        room = 24 + sum(12 if ord(ch) > 0x2E80 else 7 for ch in text)
        if x + room > width and x > 10:
            x, y = 10, y + LEGEND_ROW
        items.append({"x": x, "y": y, "color": colour(i), "label": text, "title": label})
        x += room + 12
    return items, y + LEGEND_ROW + 2


def tick_label(column, tick: float, step: float) -> str:
    """A gridline's figure: whole numbers when the steps are whole (40,000 rather than 40,000.00).

    >>> from portal.reports import Column
    >>> tick_label(Column("a", "A", "money"), 40000.0, 10000.0), tick_label(Column("r", "R", "percent"), 2.5, 2.5)
    ('40,000', '2.5 %')
    """
    from portal.reports import Column

    kind = "int" if float(step).is_integer() else "money" if column.kind == "money" else "decimal"
    text = Column(column.key, column.label, kind).display(Decimal(str(round(tick, 6))))
    return f"{text} %" if column.kind == "percent" else text


def _tip(label: str, column, value) -> str:
    return f"{label} · {column.label}: {column.display(value)}"


def _scale(lo: float, hi: float, start: float, length: float):
    span = (hi - lo) or 1.0
    return lambda v: start + (v - lo) / span * length


def _bars(labels, values, series, top: int) -> dict:
    """Horizontal bars, one per series side by side in each category; negative figures go left of the zero line."""
    bar, gap = (14, 10) if len(series) == 1 else (max(6, 24 // len(series)), 10)
    group = bar * len(series) + gap
    flat = [v for vs in values for v in vs if v is not None]
    lo, hi = min(0.0, *flat), max(0.0, *flat)
    x = _scale(lo, hi, LABEL_WIDTH + 6, WIDTH - LABEL_WIDTH - 6 - VALUE_WIDTH)
    rects, texts = [], []
    for i, (label, row) in enumerate(zip(labels, values, strict=True)):
        y0 = top + i * group
        texts.append({"x": LABEL_WIDTH, "y": y0 + bar * len(series) / 2 + 4, "text": short(label),
                      "anchor": "end", "title": label})
        for j, value in enumerate(row):
            if value is None:
                continue
            left, right = sorted((x(0.0), x(value)))
            y = y0 + j * bar
            rects.append({"x": round(left, 1), "y": y, "w": round(max(right - left, 1.0 if value else 0.0), 1),
                          "h": bar - 1, "color": colour(j), "title": _tip(label, series[j], value)})
            texts.append({"x": round(right + 4, 1), "y": y + bar - 3, "text": series[j].display(value),
                          "anchor": "start", "small": True})
    height = top + len(values) * group + 4
    return {"rects": rects, "texts": texts, "height": height,
            "axes": [{"x1": round(x(0.0), 1), "y1": top - 2, "x2": round(x(0.0), 1), "y2": height - 4}]}


def _stacked(labels, values, series, top: int) -> dict:
    """One horizontal bar per category, its series stacked left to right (blanks and negatives count as nothing)."""
    bar, gap = 16, 8
    totals = [sum(max(v or 0.0, 0.0) for v in row) for row in values]
    x = _scale(0.0, max(totals) or 1.0, LABEL_WIDTH + 6, WIDTH - LABEL_WIDTH - 6 - VALUE_WIDTH)
    rects, texts = [], []
    for i, (label, row) in enumerate(zip(labels, values, strict=True)):
        y = top + i * (bar + gap)
        texts.append({"x": LABEL_WIDTH, "y": y + bar - 4, "text": short(label), "anchor": "end", "title": label})
        running = 0.0
        for j, value in enumerate(row):
            if not value or value < 0:
                continue
            left, right = x(running), x(running + value)
            rects.append({"x": round(left, 1), "y": y, "w": round(max(right - left, 1.0), 1), "h": bar,
                          "color": colour(j), "title": _tip(label, series[j], value)})
            running += value
        texts.append({"x": round(x(running) + 4, 1), "y": y + bar - 4, "text": series[0].display(totals[i]),
                      "anchor": "start", "small": True})
    height = top + len(values) * (bar + gap) + 4
    return {"rects": rects, "texts": texts, "height": height,
            "axes": [{"x1": LABEL_WIDTH + 6, "y1": top - 2, "x2": LABEL_WIDTH + 6, "y2": height - 4}]}


def _line(labels, values, series, top: int) -> dict:
    """Categories (months) along the bottom, one line per series, a dot on every figure, four or five gridlines."""
    left, right, bottom = 70, 20, 40
    top += 8
    height = top + 200 + bottom
    flat = [v for vs in values for v in vs if v is not None]
    step = nice_step(max(0.0, *flat) - min(0.0, *flat), whole=all(s.kind == "int" for s in series))
    lo, hi = math.floor(min(0.0, *flat) / step) * step, math.ceil(max(0.0, *flat) / step) * step
    hi = hi if hi > lo else lo + step
    y = _scale(hi, lo, top, height - top - bottom)  # larger figures higher up
    n = len(labels)
    width = WIDTH - left - right
    xs = [left + (width / 2 if n == 1 else i * width / (n - 1)) for i in range(n)]
    axes, texts, circles, lines = [], [], [], []
    tick = lo
    while tick <= hi + step / 1000:
        axes.append({"x1": left, "y1": round(y(tick), 1), "x2": WIDTH - right, "y2": round(y(tick), 1),
                     "grid": True})
        texts.append({"x": left - 6, "y": round(y(tick) + 4, 1), "text": tick_label(series[0], tick, step),
                      "anchor": "end", "small": True})
        tick += step
    every = max(1, math.ceil(n / 12))
    for i, label in enumerate(labels):
        if i % every == 0:
            texts.append({"x": round(xs[i], 1), "y": height - bottom + 16, "text": short(label, 10),
                          "anchor": "middle", "small": True, "title": label})
    for j, column in enumerate(series):
        points = [(xs[i], y(row[j])) for i, row in enumerate(values) if row[j] is not None]
        if len(points) > 1:
            lines.append({"points": " ".join(f"{px:.1f},{py:.1f}" for px, py in points), "color": colour(j)})
        for i, row in enumerate(values):
            if row[j] is not None:
                circles.append({"cx": round(xs[i], 1), "cy": round(y(row[j]), 1), "r": 3.5, "color": colour(j),
                                "title": _tip(labels[i], column, row[j])})
    return {"axes": axes, "texts": texts, "circles": circles, "lines": lines, "height": height}


def _donut(labels, values, series) -> dict:
    """A ring cut into one arc per category (stroke dashes on a circle: exact, no path arithmetic), with a legend
    of the labels and their shares beside it."""
    radius, cx, cy, height = 70.0, 110.0, 110.0, 220
    circumference = 2 * math.pi * radius
    figures = [max(row[0] or 0.0, 0.0) for row in values]
    whole = sum(figures) or 1.0
    rings, texts, legend, done = [], [], [], 0.0
    for i, (label, figure) in enumerate(zip(labels, figures, strict=True)):
        share = figure / whole
        if figure > 0:
            rings.append({"cx": cx, "cy": cy, "r": radius, "color": colour(i),
                          "dash": f"{share * circumference:.2f} {circumference:.2f}",
                          "offset": f"{-done * circumference:.2f}",
                          "title": f"{_tip(label, series[0], Decimal(str(figure)))} ({share * 100:.1f} %)"})
        done += share
        legend.append({"x": 240, "y": 24 + i * 20, "color": colour(i),
                       "label": f"{short(label, 28)} · {share * 100:.1f} %", "title": label})
    texts.append({"x": cx, "y": cy + 5, "text": series[0].display(Decimal(str(sum(figures)))), "anchor": "middle"})
    return {"rings": rings, "texts": texts, "legend": legend, "height": max(height, 24 + len(labels) * 20),
            "centre": {"x": cx, "y": cy}}
