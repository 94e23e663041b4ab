"""A squarified treemap (Bruls, Huizing, van Wijk 2000) drawn as a plain SVG document.

Layout and drawing only: the caller says what the boxes are. Each box's area is its share of
the whole rectangle, boxes of one group sit together inside the group's rectangle, and every box
carries a label (when it fits) and an SVG <title>, which viewers show as a tooltip.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence
from xml.sax.saxutils import escape


@dataclasses.dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float

    @property
    def area(self) -> float:
        return self.width * self.height


@dataclasses.dataclass(frozen=True)
class Box:
    label: str
    size: int
    tooltip: str


@dataclasses.dataclass(frozen=True)
class Group:
    label: str
    color: str  # the group's fill, "#rrggbb"
    boxes: Sequence[Box]

    @property
    def size(self) -> int:
        return sum(box.size for box in self.boxes)


def _worst_ratio(areas: Sequence[float], side: float) -> float:
    """The largest aspect ratio of `areas` laid side by side along a side of length `side`."""
    total = sum(areas)
    thickness = total / side
    return max(max(thickness * thickness / a, a / (thickness * thickness)) for a in areas)


def squarify(sizes: Sequence[float], rect: Rect) -> list[Rect]:
    """Rectangles for `sizes` (in their order) that tile `rect`, each with an area proportional
    to its size. Larger sizes are placed first, in rows along the shorter side, each row kept
    while adding a box makes its worst aspect ratio no worse. Sizes of 0 get empty rectangles."""
    result = [Rect(rect.x, rect.y, 0.0, 0.0)] * len(sizes)
    if any(size < 0 for size in sizes):
        raise ValueError("treemap sizes must not be negative")
    total = float(sum(sizes))
    if total <= 0 or rect.area <= 0:
        return result
    order = [i for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]) if sizes[i] > 0]
    scale = rect.area / total
    x, y, width, height = rect.x, rect.y, rect.width, rect.height
    row: list[int] = []
    position = 0
    while position < len(order):
        side = min(width, height)
        candidate = row + [order[position]]
        if not row or _worst_ratio([sizes[i] * scale for i in candidate], side) <= \
                _worst_ratio([sizes[i] * scale for i in row], side):
            row = candidate
            position += 1
            if position < len(order):
                continue
        # Lay out `row` along the shorter side; the last row takes all that is left, so that
        # rounding never leaves a gap at the edge.
        last = position == len(order) and row[-1] == order[-1]
        row_area = sum(sizes[i] * scale for i in row)
        across = width >= height  # the row is a column at the left, else a line at the top
        length = height if across else width
        thickness = (width if across else height) if last else row_area / length
        offset = 0.0
        for n, i in enumerate(row):
            extent = length - offset if n == len(row) - 1 else sizes[i] * scale / thickness
            result[i] = Rect(x, y + offset, thickness, extent) if across else Rect(x + offset, y, extent, thickness)
            offset += extent
        if across:
            x, width = x + thickness, width - thickness
        else:
            y, height = y + thickness, height - thickness
        row = []
    return result


def human_size(size: int) -> str:
    """1536 -> "1.5 KiB": the units `ls -lh` and file managers show."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def share(size: int, total: int) -> str:
    return f"{100.0 * size / total:.1f} %" if total else "0.0 %"


_FONT_SIZE = 11
_CHAR_WIDTH = 6.2  # a conservative average advance of the 11 px sans-serif font
_LEGEND_LINE = 16


def _text_fits(text: str, rect: Rect, lines: int) -> bool:
    return rect.width >= len(text) * _CHAR_WIDTH + 6 and rect.height >= lines * (_FONT_SIZE + 3) + 4


def _shortened(text: str, rect: Rect) -> str:
    """`text` cut to fit the width of `rect`, ending in an ellipsis."""
    keep = max(int((rect.width - 6) / _CHAR_WIDTH) - 1, 1)
    return text[:keep] + "…"


def render_svg(title: str, groups: Sequence[Group], total: int, width: int = 1200, height: int = 800) -> str:
    """An SVG document: the title, a treemap of `groups` scaled so the whole area is `total`
    bytes, and a legend line per group. Text is XML-escaped; labels that do not fit are left to
    the tooltip."""
    legend_height = _LEGEND_LINE * len(groups) + 8
    top = 28
    area = Rect(0, top, width, height)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top + height + legend_height}" '
        f'viewBox="0 0 {width} {top + height + legend_height}" font-family="sans-serif" font-size="{_FONT_SIZE}">',
        f'<title>{escape(title)}</title>',
        f'<text x="4" y="19" font-size="15" font-weight="bold">{escape(title)}: {escape(human_size(total))} '
        f'({total:,} bytes)</text>',
    ]
    # The groups' share of the picture is their share of `total`; what they leave is blank.
    group_sizes = [group.size for group in groups]
    placed = squarify(group_sizes + [max(total - sum(group_sizes), 0)], area)
    for group, group_rect in zip(groups, placed):
        if group_rect.area <= 0:
            continue
        out.append(f'<g><title>{escape(_tooltip(group.label, group.size, total))}</title>')
        for box, rect in zip(group.boxes, squarify([b.size for b in group.boxes], group_rect)):
            if rect.area <= 0:
                continue
            tip = _tooltip(f"{group.label}: {box.label}", box.size, total) + (f"\n{box.tooltip}" if box.tooltip else "")
            out.append(
                f'<g><title>{escape(tip)}</title>'
                f'<rect x="{rect.x:.2f}" y="{rect.y:.2f}" width="{rect.width:.2f}" height="{rect.height:.2f}" '
                f'fill="{group.color}" stroke="#ffffff" stroke-width="1"/>')
            label, numbers = box.label, f"{human_size(box.size)}, {share(box.size, total)}"
            if _text_fits(label, rect, 1) and _text_fits(numbers, rect, 2):
                out.append(f'<text x="{rect.x + 3:.2f}" y="{rect.y + _FONT_SIZE + 2:.2f}">{escape(label)}'
                           f'<tspan x="{rect.x + 3:.2f}" dy="{_FONT_SIZE + 3}">{escape(numbers)}</tspan></text>')
            elif _text_fits(label[:3] + "…", rect, 1):
                fitting = label if _text_fits(label, rect, 1) else _shortened(label, rect)
                out.append(f'<text x="{rect.x + 3:.2f}" y="{rect.y + _FONT_SIZE + 2:.2f}">{escape(fitting)}</text>')
            out.append('</g>')
        out.append(f'<rect x="{group_rect.x:.2f}" y="{group_rect.y:.2f}" width="{group_rect.width:.2f}" '
                   f'height="{group_rect.height:.2f}" fill="none" stroke="#222222" stroke-width="2"/>')
        out.append('</g>')
    for n, group in enumerate(groups):
        y = top + height + 8 + _LEGEND_LINE * n
        out.append(f'<rect x="4" y="{y}" width="12" height="12" fill="{group.color}" stroke="#222222"/>')
        out.append(f'<text x="22" y="{y + 10}">{escape(group.label)}: {escape(human_size(group.size))} '
                   f'({group.size:,} bytes, {escape(share(group.size, total))})</text>')
    out.append('</svg>')
    return "\n".join(out) + "\n"


def _tooltip(label: str, size: int, total: int) -> str:
    return f"{label}: {size:,} bytes ({human_size(size)}, {share(size, total)})"
