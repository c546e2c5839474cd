"""The verdict of one home check: each measure against the plan's thresholds, with what to do.

Pure: the measurements and the plan's `readiness` section come in.

- **Latency** is the median of the round trips the page timed to Standby over about
  30 s (small `no-store` fetches, one at a time); the median so that one slow sample
  does not fail an agent whose line is good.
- **Jitter** is the mean absolute difference between consecutive round trips (the
  inter-arrival jitter of RFC 3550 without its smoothing).
- **Throughput** is bytes over the time taken, each way, in kbit/s.
- **Browser** is read from the User-Agent the check was sent with (its major version).
- **Microphone** is the browser's permission state, or `granted` once the page could
  open the microphone.
- **Platform login**: each address the plan names was reached from the browser or not.

The default thresholds (`plan.readiness`) come from what platforms publish:

- 400 ms round trip and 30 ms jitter: the levels at which Twilio's Voice SDK (used by
  Twilio Flex) raises its `high-rtt` and `high-jitter` call-quality warnings (Voice
  Insights SDK events). Bright Pattern asks for less (240 ms, 20 ms): a plan on such a
  platform sets its own.
- 100 kbit/s each way: a G.711 voice stream (Bright Pattern's system requirements;
  Tencent Cloud Contact Center asks 60 kbit/s per audio call).
- Chrome, Edge and Firefox from version 107: Bright Pattern's supported browsers.
- The microphone: every browser softphone needs it (Amazon Connect's Endpoint Test
  Utility checks it first).
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from standby.plan.readiness import Readiness

Measure = Literal["latency", "jitter", "download", "upload", "browser", "microphone", "platform"]
MicrophoneState = Literal["granted", "denied", "prompt", "unknown"]
MIN_SAMPLES = 5


@dataclass(frozen=True)
class Browser:
    """A browser's name (chrome, edge, firefox, safari, opera or other) and major version."""

    name: str
    version: int | None

    def __str__(self) -> str:
        """As shown to the agent: 'chrome 131'."""
        return self.name if self.version is None else f"{self.name} {self.version}"


@dataclass(frozen=True)
class PlatformReach:
    """Whether the browser reached one of the platform's login addresses."""

    address: str
    reached: bool


@dataclass(frozen=True)
class Measurements:
    """What the page measured in the agent's browser."""

    round_trips_ms: tuple[float, ...]
    download_bytes: int
    download_ms: float
    upload_bytes: int
    upload_ms: float
    browser: Browser
    microphone: MicrophoneState
    platform: tuple[PlatformReach, ...]


@dataclass(frozen=True)
class Check:
    """One measure's result: its value, the limit, whether it passed, and what to do if not."""

    measure: Measure
    passed: bool
    value: str
    limit: str
    advice: str

    def to_dict(self) -> dict[str, object]:
        """As stored and as the API shows it."""
        return {
            "measure": self.measure,
            "passed": self.passed,
            "value": self.value,
            "limit": self.limit,
            "advice": self.advice,
        }


@dataclass(frozen=True)
class Verdict:
    """Every measure's check, and the figures stored for reports."""

    checks: tuple[Check, ...]
    latency_ms: float
    jitter_ms: float
    download_kbps: float
    upload_kbps: float

    @property
    def passed(self) -> bool:
        """Ready: every measure passed."""
        return all(c.passed for c in self.checks)


_BROWSERS = (  # order matters: Edge and Opera also say Chrome, Chrome also says Safari
    ("edge", re.compile(r"\bEdg(?:e|A|iOS)?/(\d+)")),
    ("opera", re.compile(r"\bOPR/(\d+)")),
    ("firefox", re.compile(r"\b(?:Firefox|FxiOS)/(\d+)")),
    ("chrome", re.compile(r"\b(?:HeadlessChrome|Chrome|Chromium|CriOS)/(\d+)")),
    ("safari", re.compile(r"\bVersion/(\d+)[.\d]* (?:Mobile/\S+ )?Safari/")),
)


def browser_of(user_agent: str) -> Browser:
    """The browser and major version a User-Agent names; `other` when none is recognised."""
    for name, pattern in _BROWSERS:
        match = pattern.search(user_agent)
        if match:
            return Browser(name, int(match.group(1)))
    return Browser("other", None)


def jitter(round_trips: Sequence[float]) -> float:
    """Mean absolute difference between consecutive round trips (0 with fewer than two)."""
    if len(round_trips) < 2:
        return 0.0
    return statistics.fmean(abs(b - a) for a, b in itertools.pairwise(round_trips))


def kbps(size: int, ms: float) -> float:
    """kbit/s of `size` bytes moved in `ms` milliseconds (0 when nothing moved)."""
    return size * 8 / ms if ms > 0 and size > 0 else 0.0


def judge(found: Measurements, rules: Readiness) -> Verdict:
    """Each measure against the plan's thresholds."""
    samples = found.round_trips_ms
    enough = len(samples) >= MIN_SAMPLES
    latency = statistics.median(samples) if samples else 0.0
    spread = jitter(samples)
    down = kbps(found.download_bytes, found.download_ms)
    up = kbps(found.upload_bytes, found.upload_ms)
    too_few = f"only {len(samples)} round trips were timed; keep the page open for the whole check"
    checks = [
        Check(
            "latency",
            enough and latency <= rules.max_latency_ms,
            f"{latency:.0f} ms",
            f"at most {rules.max_latency_ms:g} ms",
            too_few if not enough else _slow_line("Round trips are slow"),
        ),
        Check(
            "jitter",
            enough and spread <= rules.max_jitter_ms,
            f"{spread:.0f} ms",
            f"at most {rules.max_jitter_ms:g} ms",
            too_few if not enough else _slow_line("Round trips vary too much"),
        ),
        Check(
            "download",
            down >= rules.min_download_kbps and down > 0,
            f"{down:.0f} kbit/s",
            f"at least {rules.min_download_kbps:g} kbit/s",
            "Downloads are too slow: stop other downloads and streaming, or move nearer the router.",
        ),
        Check(
            "upload",
            up >= rules.min_upload_kbps and up > 0,
            f"{up:.0f} kbit/s",
            f"at least {rules.min_upload_kbps:g} kbit/s",
            "Uploads are too slow: stop cloud backups and video calls while you work.",
        ),
        _browser_check(found.browser, rules),
    ]
    if rules.microphone:
        checks.append(
            Check(
                "microphone",
                found.microphone == "granted",
                found.microphone,
                "granted",
                "Press 'Test microphone' and allow it; if the browser blocked it, allow the"
                " microphone for this site in the browser's settings.",
            )
        )
    if rules.platform_login:
        reached = {p.address: p.reached for p in found.platform}
        missed = [a for a in rules.platform_login if not reached.get(a, False)]
        checks.append(
            Check(
                "platform",
                not missed,
                f"{len(rules.platform_login) - len(missed)} of {len(rules.platform_login)} reached",
                "all reached",
                "Could not reach " + ", ".join(missed) + ": check the VPN is connected, or ask IT"
                " whether your home network blocks them."
                if missed
                else "",
            )
        )
    return Verdict(tuple(checks), latency, spread, down, up)


def _slow_line(what: str) -> str:
    return (
        f"{what}: use a cable rather than Wi-Fi, sit nearer the router, and stop other"
        " downloads and video; then check again."
    )


def _browser_check(browser: Browser, rules: Readiness) -> Check:
    wanted: dict[str, int] = {b.name: b.version for b in rules.browsers}
    listed = ", ".join(f"{b.name} {b.version}+" for b in rules.browsers)
    minimum = wanted.get(browser.name)
    passed = minimum is not None and browser.version is not None and browser.version >= minimum
    if minimum is None:
        advice = f"This browser is not supported: use {listed}."
    else:
        advice = f"Update {browser.name} to version {minimum} or later."
    return Check("browser", passed, str(browser), listed, "" if passed else advice)
