"""What one request may spend on providers: at most ``TAILOR["WEATHER_LOOKUPS_PER_REQUEST"]``
distinct weather cells (cached or not). Past that, weather stays unknown for the rest of the request
(no upstream call) and a warning says so, so a document asking for 130 places at once costs no more
upstream than one asking for three.

The GraphQL view opens a budget per request (`request_budget()`); code that runs outside one (the
admin's simulator, commands) is not limited. A context variable holds it, so threads and requests
never share one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.utils.translation import gettext as _

from tailor.settings import tailor_settings


class RequestBudget:
    def __init__(self, weather_lookups: int):
        self.weather_lookups = weather_lookups
        self.weather_cells: set[str] = set()
        self.warnings: list[dict[str, str]] = []

    def allow_weather(self, cell_key: str) -> bool:
        """May this request look up the weather of `cell_key`? A cell already looked up is free."""
        if cell_key in self.weather_cells:
            return True
        if len(self.weather_cells) >= self.weather_lookups:
            self.warnings.append(
                {
                    "field": "context.latitude",
                    "message": _(
                        "weather unknown: this request already looked up %(limit)d places (WEATHER_LOOKUPS_PER_REQUEST)"
                    )
                    % {"limit": self.weather_lookups},
                }
            )
            return False
        self.weather_cells.add(cell_key)
        return True


_current: ContextVar[RequestBudget | None] = ContextVar("tailor_request_budget", default=None)


@contextmanager
def request_budget() -> Iterator[RequestBudget]:
    budget = RequestBudget(int(tailor_settings.WEATHER_LOOKUPS_PER_REQUEST))
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


def allow_weather(cell_key: str) -> bool:
    budget = _current.get()
    return budget is None or budget.allow_weather(cell_key)


def take_warnings() -> list[dict[str, str]]:
    """The warnings raised since the last call (for the answer that caused them)."""
    budget = _current.get()
    if budget is None or not budget.warnings:
        return []
    warnings, budget.warnings = budget.warnings, []
    return warnings
