"""Counting the SQL statements a store runs, for the benchmarks that compare statements per request."""
from __future__ import annotations

from typing import Any


class StatementCounter:
    """Wraps the store's read helpers (`_all`, `_one`) so that every statement they run is counted."""

    def __init__(self, store: Any) -> None:
        self.count = 0
        for name in ("_all", "_one"):
            original = getattr(store, name)

            async def counted(*args: Any, _original: Any = original) -> Any:
                self.count += 1
                return await _original(*args)
            setattr(store, name, counted)
