"""The reference plan shipped with Standby, read without the plan's models.

`standby init` writes it; reading it needs neither pydantic nor the YAML parser, so
the command that only copies it does not pay for building the plan's schema.
"""

from __future__ import annotations

from importlib import resources


def reference_plan_text() -> str:
    """The reference plan shipped with Standby, as YAML text."""
    return resources.files("standby.plan").joinpath("reference.yaml").read_text(encoding="utf-8")
