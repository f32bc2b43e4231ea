"""Charts drawn on the server as inline SVG: no CDN, no script, nothing for the
CSP to allow (issue 6: "rendered on the server or by a script installed by
the setup"). Colours and line styles come from classes in app.css.

The drawing is sized for a 360-px phone: the viewBox is about as wide as the
screen, so the text keeps its size when the SVG is scaled to the page.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from tanfang.reports.queries import TARGET, Counts, TrendPoint, percent

WIDTH = 360
HEIGHT = 200
LEFT = 38  # room for "100%"
RIGHT = 10
TOP = 12
BOTTOM = 40  # month numbers and the year under them
GRID = (0, 25, 50, 75, 100)


@dataclass(frozen=True)
class _Series:
    css: str
    label: str
    values: list[Decimal | None]
    parts: list[tuple[int, int]]  # (part, whole) for the point's tooltip


def _x(index: int, count: int) -> float:
    inner = WIDTH - LEFT - RIGHT
    if count <= 1:
        return LEFT + inner / 2
    return LEFT + inner * index / (count - 1)


def _y(value: Decimal | float) -> float:
    inner = HEIGHT - TOP - BOTTOM
    return TOP + inner * (1 - float(value) / 100)


def _fmt(number: float) -> str:
    return f"{number:.1f}"


def trend_svg(points: Sequence[TrendPoint], *, title: str) -> SafeString:
    """The visit rate and the compliance rate month by month, against the 100%
    target line; a month nobody was counted in leaves a gap in the line."""
    count = len(points)
    series = [
        _Series(
            "visit",
            "探访率",
            [p.counts.visit_rate for p in points],
            [(p.counts.visited, p.counts.counted) for p in points],
        ),
        _Series(
            "compliance",
            "达标率",
            [p.counts.compliance_rate for p in points],
            [(p.counts.compliant, p.counts.counted) for p in points],
        ),
    ]
    parts: list[SafeString] = [
        format_html("<title>{}</title>", title),
        _grid(),
        _month_labels(points),
    ]
    parts.extend(_line(line, points, count) for line in series)
    return format_html(
        '<svg class="chart trend" viewBox="0 0 {} {}" role="img" aria-label="{}" '
        'xmlns="http://www.w3.org/2000/svg">{}</svg>',
        WIDTH,
        HEIGHT,
        title,
        mark_safe("".join(parts)),  # noqa: S308 - each part was built with format_html
    )


def _grid() -> SafeString:
    lines = []
    for value in GRID:
        y = _fmt(_y(value))
        css = "grid target" if Decimal(value) == TARGET else "grid"
        lines.append(
            format_html(
                '<line class="{}" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                '<text class="axis" x="{}" y="{}" text-anchor="end">{}%</text>',
                css,
                LEFT,
                y,
                WIDTH - RIGHT,
                y,
                LEFT - 4,
                _fmt(_y(value) + 4),
                value,
            )
        )
    return mark_safe("".join(lines))  # noqa: S308 - built with format_html


def _month_labels(points: Sequence[TrendPoint]) -> SafeString:
    """The month's number under each point, and the year under every January,
    and under the first point unless a January follows too closely for both
    years to fit."""
    baseline = HEIGHT - BOTTOM
    januaries = [i for i, point in enumerate(points) if point.month.month == 1]
    first_year = not januaries or januaries[0] >= 3
    labels = []
    for index, point in enumerate(points):
        x = _fmt(_x(index, len(points)))
        labels.append(
            format_html(
                '<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text>',
                x,
                baseline + 16,
                point.month.month,
            )
        )
        if index in januaries or (index == 0 and first_year):
            labels.append(
                format_html(
                    '<text class="axis year" x="{}" y="{}" text-anchor="middle">{}年</text>',
                    x,
                    baseline + 32,
                    point.month.year,
                )
            )
    return mark_safe("".join(labels))  # noqa: S308 - built with format_html


def _line(line: _Series, points: Sequence[TrendPoint], count: int) -> SafeString:
    segments: list[list[str]] = [[]]
    dots = []
    for index, value in enumerate(line.values):
        if value is None:
            segments.append([])
            continue
        x, y = _fmt(_x(index, count)), _fmt(_y(value))
        segments[-1].append(f"{x},{y}")
        part, whole = line.parts[index]
        month = points[index].month
        dots.append(
            format_html(
                '<circle class="dot {}" cx="{}" cy="{}" r="3">'
                "<title>{}年{}月 {} {}（{}/{}）</title></circle>",
                line.css,
                x,
                y,
                month.year,
                month.month,
                line.label,
                percent(value),
                part,
                whole,
            )
        )
    polylines = format_html_join(
        "",
        '<polyline class="line {}" points="{}"/>',
        ((line.css, " ".join(segment)) for segment in segments if len(segment) > 1),
    )
    return mark_safe(polylines + "".join(dots))  # noqa: S308 - built with format_html


def progress_svg(counts: Counts) -> SafeString:
    """A bar from 0 to the 100% target, filled to this month's visit rate."""
    value = counts.visit_rate or Decimal(0)
    width = 300
    filled = _fmt(width * min(float(value), 100.0) / 100)
    return format_html(
        '<svg class="chart progress" viewBox="0 0 {} 14" preserveAspectRatio="none" '
        'role="img" aria-label="{}" '
        'xmlns="http://www.w3.org/2000/svg">'
        '<rect class="track" x="0" y="0" width="{}" height="14" rx="7"/>'
        '<rect class="fill{}" x="0" y="0" width="{}" height="14" rx="7"/></svg>',
        width,
        f"本月探访率 {percent(counts.visit_rate)}，目标 100%",
        width,
        " done" if counts.meets_target else "",
        filled,
    )
