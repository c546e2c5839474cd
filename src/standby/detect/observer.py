"""What the worker tells whoever watches it about each check (Standby's own metrics).

The worker knows nothing of Prometheus: it calls a `CheckObserver` after each check,
and the edge that starts it passes one (`observe.instruments.StandbyMetrics`).
"""

from __future__ import annotations

from typing import Protocol


class CheckObserver(Protocol):
    """Told of every check a worker made."""

    def checked(self, *, protocol: str, ok: bool, duration_s: float, lag_s: float) -> None:
        """A check of `protocol` said `ok` after `duration_s`; it began `lag_s` after it was due."""
        ...
