"""The plan's `readiness` section: what an agent's home set-up must meet to count as ready.

The defaults are the figures contact-centre platforms publish as the point where a
browser softphone's calls degrade (the sources are listed in docs/plan-format.md and
`standby.readiness.verdict`); a centre whose platform asks for more writes its own.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from standby.plan.section import Section

BrowserName = Literal["chrome", "edge", "firefox", "safari", "opera"]


class MinimumBrowser(Section):
    """A browser the platform supports, from a major version on."""

    name: BrowserName = Field(description="chrome, edge, firefox, safari or opera.")
    version: int = Field(ge=1, description="The oldest major version supported.")


def _default_browsers() -> list[MinimumBrowser]:
    return [
        MinimumBrowser(name="chrome", version=107),
        MinimumBrowser(name="edge", version=107),
        MinimumBrowser(name="firefox", version=107),
    ]


class Readiness(Section):
    """What an agent's home connection and browser must meet to count as ready to work from home."""

    platform_login: list[str] = Field(
        default_factory=list,
        description="https addresses of the contact-centre platform's login the agent's browser must reach.",
    )
    max_latency_ms: float = Field(400, gt=0, description="Highest median round trip to Standby, ms.")
    max_jitter_ms: float = Field(
        30, gt=0, description="Highest jitter (mean change between round trips), ms."
    )
    min_download_kbps: float = Field(100, ge=0, description="Lowest download speed, kbit/s.")
    min_upload_kbps: float = Field(100, ge=0, description="Lowest upload speed, kbit/s.")
    browsers: list[MinimumBrowser] = Field(
        default_factory=_default_browsers,
        description="Browsers supported, each from a major version; others fail.",
    )
    microphone: bool = Field(True, description="The browser must be allowed to use the microphone.")
    valid_days: int = Field(90, gt=0, description="Days a check counts for.")

    @field_validator("platform_login")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            parts = urlsplit(address)
            if parts.scheme not in ("https", "http") or not parts.hostname:
                raise ValueError(f"{address!r} is not an http(s) address such as https://login.example.com/")
            if any(c.isspace() or c in ";,'\"" for c in address):
                raise ValueError(f"{address!r} has a space, quote, comma or semicolon")
            try:
                parts.port  # noqa: B018 - a bad port raises here
            except ValueError:
                raise ValueError(f"{address!r} has a port that is not a number from 0 to 65535") from None
        return value


def origin(address: str) -> str:
    """The scheme, host and port of an address: what a Content-Security-Policy names."""
    parts = urlsplit(address)
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{parts.hostname}{port}"
