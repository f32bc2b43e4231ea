"""The order of a visitor's day: a route through the elders' homes (issue 16
item 5, "ordered as a route for the day").

Pure Python, no Django: positions in, order out.

- Where an elder lives is where their recent home visits were recorded: the
  median of the last few GPS fixes (`home_position`), which a single bad fix
  (a visit saved on the way back, a fix from the cell tower) does not move.
  Nothing else in the file holds a position: the address is words, and
  encrypted.
- The route is nearest-neighbour (`nearest_first`): from the start, always the
  closest home not yet visited. The start is the visitor's position when the
  page has it, else the first home in the list's own order.
- Elders without a position come after those with one, in the list's own
  order, so the order is the same on every reload (ties go to the list's order
  too).

Why not an optimiser (pyvroom, docs/DECISIONS.md): a visitor has a few dozen
homes a day and no appointment hours are recorded, so there are no time windows
for it to use; without a road network it would optimise the same straight
lines; its wheels need a recent glibc that county servers often lack.
Nearest-neighbour is instant, needs nothing installed, and can be checked by
hand.
"""

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from statistics import median
from typing import Generic, TypeVar

T = TypeVar("T")

# (latitude, longitude) in degrees (WGS-84, as the phone's geolocation gives it).
Position = tuple[float, float]

# How many of an elder's latest home visits with a fix make their position.
FIXES = 5
# A fix less precise than this (metres, as the phone reports it) is left out.
MAX_ACCURACY_M = 200.0
_EARTH_RADIUS_M = 6_371_000.0


def is_position(latitude: float, longitude: float) -> bool:
    return -90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0


def home_position(fixes: Iterable[Position]) -> Position | None:
    """The median latitude and longitude of `fixes`; None without any."""
    found = list(fixes)
    if not found:
        return None
    return median(f[0] for f in found), median(f[1] for f in found)


def distance_m(a: Position, b: Position) -> float:
    """Great-circle distance in metres (haversine)."""
    lat1, lng1, lat2, lng2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def distance_words(metres: float) -> str:
    """约300米, 约1.2公里: straight-line, so rounded."""
    if metres < 1000:
        return f"约{max(10, round(metres, -1)):.0f}米"
    return f"约{metres / 1000:.1f}公里"


@dataclass(frozen=True)
class Stop(Generic[T]):
    item: T
    # Position of the stop; None when unknown.
    position: Position | None
    # Straight-line metres from the previous stop (or the start); None when
    # either end is unknown.
    leg_m: float | None


def nearest_first(
    items: Sequence[T], position: Callable[[T], Position | None], start: Position | None = None
) -> list[Stop[T]]:
    """`items` in nearest-neighbour order from `start` (or from the first item
    that has a position), the items without one last; ties and the unplaced
    keep the order of `items`."""
    placed = [(index, item, p) for index, item in enumerate(items) if (p := position(item))]
    unplaced = [item for item in items if position(item) is None]
    stops: list[Stop[T]] = []
    here = start
    while placed:
        if here is None:
            chosen = 0
        else:
            at = here
            chosen = min(range(len(placed)), key=lambda i: (distance_m(at, placed[i][2]), i))
        _, item, spot = placed.pop(chosen)
        stops.append(Stop(item, spot, None if here is None else distance_m(here, spot)))
        here = spot
    stops.extend(Stop(item, None, None) for item in unplaced)
    return stops


def plan_day(
    sections: Sequence[Sequence[T]],
    position: Callable[[T], Position | None],
    start: Position | None = None,
) -> tuple[list[list[Stop[T]]], Position | None]:
    """A route through `sections` in turn (today's first, then the late ones,
    then the rest): each section nearest-first from where the one before ended.
    Returns the ordered sections and where the route ends."""
    ordered = []
    here = start
    for items in sections:
        stops = nearest_first(items, position, here)
        ordered.append(stops)
        placed = [s.position for s in stops if s.position is not None]
        if placed:
            here = placed[-1]
    return ordered, here
