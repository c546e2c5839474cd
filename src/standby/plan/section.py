"""The base of every plan model and the plan's fixed vocabularies."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

ComponentKind = Literal[
    "sip_trunk",
    "sbc",
    "acd",
    "ivr",
    "crm",
    "wfm",
    "dialler",
    "recording",
    "identity",
    "vpn",
    "network",
    "power",
    "other",
]
SiteKind = Literal["office", "home", "partner"]
Classification = Literal["interruption", "partial", "total", "degraded"]
StakeholderKind = Literal[
    "leadership",
    "regulator",
    "first_responders",
    "customers",
    "vendors",
    "employees",
]
Channel = Literal["email", "sms", "status_page", "ivr_message", "webhook"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
DrillOutcome = Literal["passed", "partial", "failed"]


class Section(BaseModel):
    """Base of every plan model: unknown keys are errors, values never change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
