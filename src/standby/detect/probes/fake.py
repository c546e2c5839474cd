"""A scripted checker for tests of the code that runs probes (the worker), with no network."""

from __future__ import annotations

from collections import deque
from datetime import datetime

from standby.detect.probes.result import CheckResult, NetworkProbe


class FakeChecker:
    """Returns results scripted per probe target, in order; the last one repeats.

    A target without a script gets `default` if one was given; otherwise the check raises
    LookupError, since an unscripted probe is a mistake in the test, not a network failure.
    Every call is recorded in `calls` as (target, now).
    """

    def __init__(
        self,
        script: dict[str, CheckResult | list[CheckResult]] | None = None,
        *,
        default: CheckResult | None = None,
    ) -> None:
        self.default = default
        self.calls: list[tuple[str, datetime]] = []
        self._script: dict[str, deque[CheckResult]] = {}
        for target, results in (script or {}).items():
            self.script(target, *(results if isinstance(results, list) else [results]))

    def script(self, target: str, *results: CheckResult) -> None:
        """Queue `results` for `target`, after any still queued."""
        self._script.setdefault(target, deque()).extend(results)

    async def check(self, probe: NetworkProbe, *, now: datetime) -> CheckResult:
        """The next scripted result for the probe's target."""
        self.calls.append((probe.target, now))
        queue = self._script.get(probe.target)
        if not queue:
            if self.default is not None:
                return self.default
            raise LookupError(f"FakeChecker has no result scripted for {probe.target!r}")
        return queue.popleft() if len(queue) > 1 else queue[0]

    async def aclose(self) -> None:
        """Nothing to close; here so the fake can stand in for ProbeChecker."""

    def checks_of(self, target: str) -> int:
        """How many times `target` was checked."""
        return sum(1 for checked, _ in self.calls if checked == target)


def up(detail: str = "ok", rtt_ms: float | None = 1.0, warning: str | None = None) -> CheckResult:
    """A healthy result, for scripts."""
    return CheckResult(ok=True, detail=detail, rtt_ms=rtt_ms, warning=warning)


def down(detail: str = "connection refused") -> CheckResult:
    """A failed result, for scripts."""
    return CheckResult(ok=False, detail=detail, rtt_ms=None)
