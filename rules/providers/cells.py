"""The weather grid: cells of 0.1° (by default), so that every visitor in a cell shares one cached
answer and the upstream never sees coordinates more precise than the cell. Plain Python, no Django.

Cells are aligned on multiples of the cell size and half-open (``south <= lat < north``, floor, not
round), so a coordinate belongs to exactly one fixed cell; the last row and column are closed so that
90° and 180° have a cell too.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..engine.context import InvalidContext
from ..engine.i18n import _
from .weather import is_number

MIN_CELL_DEGREES = 1e-6
MAX_CELL_DEGREES = 10.0


def _decimal(value: float) -> Decimal:
    # A float's shortest repr is the decimal the visitor (or JSON) wrote: 37.3 is 37.3, not the binary
    # 37.29999... below it, so 37.3 falls in the cell starting at 37.3, as anyone reading it expects.
    return Decimal(repr(float(value)))


@dataclass(frozen=True, slots=True)
class Cell:
    """A cell of the grid: rows and columns of `degrees`, counted from the equator / prime meridian."""

    row: int
    column: int
    degrees: float

    # Float bounds are for display and the upstream query, clamped to the globe (the last row or
    # column of a grid whose size does not divide 90/180 overhangs it); `contains` is exact.
    @property
    def south(self) -> float:
        return max(float(self.row * _decimal(self.degrees)), -90.0)

    @property
    def north(self) -> float:
        return min(float((self.row + 1) * _decimal(self.degrees)), 90.0)

    @property
    def west(self) -> float:
        return max(float(self.column * _decimal(self.degrees)), -180.0)

    @property
    def east(self) -> float:
        return min(float((self.column + 1) * _decimal(self.degrees)), 180.0)

    @property
    def center(self) -> tuple[float, float]:
        """The point Open-Meteo is asked about (rounded so that the URL is stable)."""
        return round((self.south + self.north) / 2, 4), round((self.west + self.east) / 2, 4)

    @property
    def key(self) -> str:
        return f"v1:{self.degrees!r}:{self.row}:{self.column}"

    @property
    def label(self) -> str:
        """The south-west corner, for logs: no more precise than the cell."""
        places = max(0, -_decimal(self.degrees).normalize().as_tuple().exponent)
        return f"{self.south:.{places}f},{self.west:.{places}f}"

    def contains(self, latitude: float, longitude: float) -> bool:
        """Half-open, except that the northernmost row holds 90° and the easternmost column 180°."""
        return _holds(self.row, _decimal(latitude), _decimal(self.degrees), 90) and _holds(
            self.column, _decimal(longitude), _decimal(self.degrees), 180
        )


def _holds(index: int, value: Decimal, size: Decimal, limit: int) -> bool:
    low, high = index * size, (index + 1) * size
    # A cell starting at the limit (e.g. [180, 180.1)) is off the globe; the one before it holds 180.
    return low <= value and low < limit and (value < high or value == limit <= high)


def _index(value: Decimal, size: Decimal, limit: int) -> int:
    quotient, remainder = divmod(value, size)  # exact; truncates toward zero
    index = int(quotient) - (1 if remainder and value < 0 else 0)
    if value == limit and index * size >= limit:  # the last row/column is closed: 90° and 180° go in it
        index -= 1
    return index


def cell_of(latitude: float, longitude: float, degrees: float = 0.1) -> Cell:
    """The cell holding the point (floor to the grid); raises InvalidContext for a point off the globe."""
    if not (is_number(degrees) and MIN_CELL_DEGREES <= degrees <= MAX_CELL_DEGREES):
        raise ValueError(f"cell size must be within [{MIN_CELL_DEGREES:g}, {MAX_CELL_DEGREES:g}] degrees")
    latitude = _coordinate(latitude, "latitude", 90.0)
    longitude = _coordinate(longitude, "longitude", 180.0)
    size = _decimal(degrees)
    return Cell(_index(_decimal(latitude), size, 90), _index(_decimal(longitude), size, 180), degrees)


def _coordinate(value: Any, field: str, limit: float) -> float:
    if not is_number(value) or not -limit <= value <= limit:  # NaN and infinities fail the range test
        raise InvalidContext(
            field,
            _("expected a number within [-%(limit)s, %(limit)s], got %(value)r")
            % {"limit": f"{limit:g}", "value": value},
        )
    return float(value)
