"""How Standby checks a component: the probe models of the plan."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from standby.plan.fields import Id, Seconds, Text
from standby.plan.section import Section


class ProbeBase(Section):
    """Settings every interval probe shares."""

    interval_s: Seconds = Field(30, description="Seconds between checks.")
    timeout_s: Seconds = Field(5, description="Seconds before a check counts as failed.")
    failures_to_down: int = Field(3, ge=1, description="Consecutive failures before down.")
    successes_to_up: int = Field(2, ge=1, description="Consecutive successes before up again.")
    retry_s: Seconds = Field(
        0.5,
        description="Seconds between checks while a change is being confirmed (after a failure, or"
        " a success while down); at most interval_s.",
    )


class HttpProbe(ProbeBase):
    """An HTTP(S) request whose reply must match."""

    type: Literal["http"] = Field(description="Probe type.")
    target: str = Field(pattern=r"^https?://\S+$", description="The URL to request.")
    method: Literal["GET", "HEAD", "POST"] = Field("GET", description="HTTP method.")
    expect_status: int = Field(200, ge=100, le=599, description="The status a healthy reply has.")
    keyword: str | None = Field(None, description="Text a healthy reply's body contains.")
    json_field: str | None = Field(
        None, description="Dotted path of a JSON field to check, such as 'status.db'."
    )
    json_value: str | int | float | bool | None = Field(None, description="The value json_field must have.")
    cert_warn_days: int = Field(
        14, ge=0, description="Warn this many days before the TLS certificate expires."
    )
    tls_verify: bool = Field(
        True, description="Check the TLS certificate against trusted CAs and the host name."
    )
    ca_file: str | None = Field(
        None, description="Path of a CA bundle (PEM) to trust instead of the system's, for a private CA."
    )


class TcpProbe(ProbeBase):
    """A TCP connection that must open."""

    type: Literal["tcp"] = Field(description="Probe type.")
    target: str = Field(pattern=r"^\S+:[0-9]{1,5}$", description="host:port to connect to.")


class DnsProbe(ProbeBase):
    """A DNS query that must be answered."""

    type: Literal["dns"] = Field(description="Probe type.")
    target: Text = Field(description="The name to resolve.")
    record_type: Literal["A", "AAAA", "CNAME", "MX", "TXT", "SRV", "NS"] = Field(
        "A", description="The record type to ask for."
    )
    expect: list[str] | None = Field(None, description="Answers that must all be present.")
    resolver: str | None = Field(
        None, pattern=r"^\S+(:[0-9]{1,5})?$", description="host[:port] of the resolver to ask."
    )


class SipOptionsProbe(ProbeBase):
    """A SIP OPTIONS request (RFC 3261) that must be answered."""

    type: Literal["sip_options"] = Field(description="Probe type.")
    target: str = Field(
        pattern=r"^sips?:\S+$", description="SIP URI; ';transport=tcp' selects TCP, else UDP."
    )
    accept_codes: list[int] = Field(
        default_factory=lambda: [200], description="Reply codes that count as healthy."
    )


class HeartbeatProbe(Section):
    """The platform posts to /api/v1/heartbeats/{component}; silence means down."""

    type: Literal["heartbeat"] = Field(description="Probe type.")
    every_s: Seconds = Field(description="How often a heartbeat is expected.")


class MetricProbe(Section):
    """A pushed metric checked over a window against bounds: the outage nobody reported."""

    type: Literal["metric"] = Field(description="Probe type.")
    metric: Id | str = Field(description="Metric name as posted to /api/v1/metrics.")
    window_s: Seconds = Field(300, description="Seconds of values averaged.")
    above: float | None = Field(None, description="Down while the average is above this.")
    below: float | None = Field(None, description="Down while the average is below this.")

    @model_validator(mode="after")
    def _has_bound(self) -> MetricProbe:
        if self.above is None and self.below is None:
            raise ValueError("a metric probe needs a bound: 'above', 'below' or both")
        return self


Probe = Annotated[
    HttpProbe | TcpProbe | DnsProbe | SipOptionsProbe | HeartbeatProbe | MetricProbe,
    Field(discriminator="type"),
]
