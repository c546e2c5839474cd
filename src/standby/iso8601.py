"""Times written as ISO 8601 text, never as numbers: one check for the API and the receivers."""

from __future__ import annotations

import re
from typing import Any

_BARE_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def refuse_numbers(value: Any) -> Any:
    """The value unchanged, unless it is a number or a numeral (a pydantic BeforeValidator).

    Pydantic would read 0 or "1718443800" as seconds since 1970: a time the sender almost
    surely did not mean. Standby's contract says ISO 8601, so a number is refused.
    """
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if numeric or (isinstance(value, str) and _BARE_NUMBER.fullmatch(value)):
        shown = repr(value)[:40]
        raise ValueError(f"write the time as ISO 8601 text, such as 2026-06-15T09:30:00Z, not {shown}")
    return value
