"""Records arriving from the centre's own systems, as CSV or JSON: read, numbered and checked cell by cell.

Agents, callbacks and calls cut off all come in the same two ways: a CSV file whose
header row names the columns, or JSON (one object, a list of them, or a list under
the record's plural name, such as {"callbacks": [...]}). This module turns either into
numbered rows (CSV: the line the row starts on; JSON: the item, from 1) and reads their
cells, gathering every problem with its row and column instead of stopping at the
first. What a bad row means is the caller's choice: agents refuse the whole import,
callbacks refuse only the bad rows.

Nothing here knows about HTTP: `read_upload` takes anything with headers and a byte
stream (a Starlette request) and raises `UploadRefused` with the status to answer.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from standby.errors import InvalidInput
from standby.plan.rules import suggest

EXTRA = "\0extra"
"""Key under which a parsed CSV row says it had more values than columns."""
MAX_PROBLEMS = 1000
"""At most this many problems are reported; a file with more is wrong throughout."""
CSV_TYPES = frozenset({"text/csv", "application/csv", "text/plain"})
JSON_TYPE = "application/json"
TRUE = frozenset({"true", "yes", "y", "1"})
FALSE = frozenset({"false", "no", "n", "0", ""})

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_ISO_HINT = "write it in ISO 8601 with its offset, such as 2026-06-15T14:30:00+01:00"

Row = tuple[int, dict[str, Any]]
"""A row's number and its values by column name."""


@dataclass(frozen=True)
class Layout:
    """The shape of one kind of record: its columns, which are required, and how many may come at once."""

    plural: str
    """What the records are called, such as "callbacks"; also the JSON wrapper's key."""
    columns: tuple[str, ...]
    required: tuple[str, ...]
    max_rows: int

    def listed(self) -> str:
        """The columns as a CSV header row."""
        return ",".join(self.columns)


@dataclass(frozen=True, order=True)
class RowProblem:
    """One thing wrong with an import: its row (CSV: the line; JSON: the item, from 1; 0: the whole)."""

    row: int
    column: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        """The problem as the API shows it."""
        return {"row": self.row, "column": self.column, "message": self.message}


class RowsInvalid(InvalidInput):
    """An import refused as a whole: every problem found, in row order."""

    def __init__(self, problems: Sequence[RowProblem], *, plural: str = "records") -> None:
        """Hold the problems (at most MAX_PROBLEMS); the message names the first."""
        self.problems = sorted(problems)[:MAX_PROBLEMS]
        first = self.problems[0]
        where = f"row {first.row}" + (f", {first.column}" if first.column else "")
        super().__init__(f"{len(problems)} problem(s) in the {plural}; first: {where}: {first.message}")


class UploadRefused(InvalidInput):
    """A body that cannot be read at all: the wrong media type, too large, not UTF-8, not JSON."""

    def __init__(self, status: int, message: str) -> None:
        """Say why, with the HTTP status the edge answers (413, 415 or 422)."""
        super().__init__(message)
        self.status = status


@dataclass
class Parsed:
    """The rows read, and the problems of rows that could not be read (bad CSV lines, odd JSON items)."""

    rows: list[Row] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    def all_or_nothing(self, plural: str) -> list[Row]:
        """The rows, or RowsInvalid when any could not be read."""
        if self.problems:
            raise RowsInvalid(self.problems, plural=plural)
        return self.rows


def parse_csv(text: str, layout: Layout) -> Parsed:
    """The rows of a CSV text with the lines they start on; RowsInvalid when the header is unusable.

    A line that is not CSV (a broken quote) is a problem of its own and the lines after it
    are still read; blank lines are skipped; a row with more values than columns is marked
    under EXTRA for the caller to refuse.
    """
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise RowsInvalid([RowProblem(1, None, f"not CSV: {exc}")], plural=layout.plural) from None
    if header is None or not any(cell.strip() for cell in header):
        message = f"no header row: the first line names the columns, {layout.listed()}"
        raise RowsInvalid([RowProblem(1, None, message)], plural=layout.plural)
    names = [cell.strip().lower() for cell in header]
    problems = _header_problems(names, layout)
    if problems:
        raise RowsInvalid(problems, plural=layout.plural)
    parsed = Parsed()
    line = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            start, line = line + 1, reader.line_num
            parsed.problems.append(_broken_line(start, line, str(exc)))
        else:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            values: dict[str, Any] = dict(zip(names, cells, strict=False))
            if len(cells) > len(names):
                values[EXTRA] = f"{len(cells)} values for {len(names)} columns (a stray comma?)"
            parsed.rows.append((start, values))
        if len(parsed.rows) + len(parsed.problems) > layout.max_rows:
            too_many = RowProblem(start, None, f"more than {layout.max_rows} {layout.plural} in one import")
            raise RowsInvalid([too_many], plural=layout.plural)
    return parsed


def _broken_line(start: int, end: int, reason: str) -> RowProblem:
    if reason == "unexpected end of data":
        lines = f"line {start}" if end <= start else f"lines {start} to {end}"
        return RowProblem(
            start,
            None,
            f'not CSV: a quoted value opened here is never closed (a missing "?), so {lines}'
            " could not be read",
        )
    return RowProblem(start, None, f'not CSV: {reason} (a quote inside a value must be doubled: "")')


def _header_problems(names: list[str], layout: Layout) -> list[RowProblem]:
    problems: list[RowProblem] = []
    seen: set[str] = set()
    for name in names:
        if name not in layout.columns:
            hint = suggest(name, layout.columns)
            problems.append(
                RowProblem(1, name or "(empty)", f"unknown column{hint}; the columns are {layout.listed()}")
            )
        elif name in seen:
            problems.append(RowProblem(1, name, "the column is named twice"))
        seen.add(name)
    for name in layout.required:
        if name not in seen:
            problems.append(RowProblem(1, name, "missing column: it is required"))
    return problems


def parse_json(document: Any, layout: Layout) -> Parsed:
    """The items of a JSON import (one object, a list, or {"<plural>": [...]}), numbered from 1.

    An item that is not an object, or has a field outside the layout, is a problem of its own.
    """
    if isinstance(document, dict) and set(document) == {layout.plural}:
        document = document[layout.plural]
    elif isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        message = f'expected a JSON object, a list of them, or {{"{layout.plural}": [...]}}'
        raise RowsInvalid([RowProblem(0, None, message)], plural=layout.plural)
    if len(document) > layout.max_rows:
        message = f"more than {layout.max_rows} {layout.plural} in one import"
        raise RowsInvalid([RowProblem(0, None, message)], plural=layout.plural)
    parsed = Parsed()
    for number, item in enumerate(document, start=1):
        if not isinstance(item, dict):
            parsed.problems.append(
                RowProblem(number, None, f"expected an object with {', '.join(layout.columns)}")
            )
            continue
        unknown = [str(key) for key in item if key not in layout.columns]
        for key in unknown:
            parsed.problems.append(
                RowProblem(number, key[:60], f"unknown field{suggest(key, layout.columns)}")
            )
        if not unknown:
            parsed.rows.append((number, dict(item)))
    return parsed


def parse_body(kind: str, body: bytes, layout: Layout) -> Parsed:
    """The rows of an upload read by `read_upload`; UploadRefused (422) when it is not UTF-8 or JSON."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadRefused(
            422, f"the body is not UTF-8 text (byte {exc.start + 1} cannot be read); save the file as UTF-8"
        ) from None
    if kind != JSON_TYPE:
        return parse_csv(text, layout)
    try:
        document = json.loads(text)
    except ValueError:
        raise UploadRefused(422, "the body is not valid JSON") from None
    return parse_json(document, layout)


class Incoming(Protocol):
    """What `read_upload` needs of a request: its headers and its body as a stream."""

    @property
    def headers(self) -> Mapping[str, str]:
        """The request's headers."""
        ...

    def stream(self) -> AsyncIterator[bytes]:
        """The body, chunk by chunk."""
        ...


async def read_upload(request: Incoming, *, max_bytes: int, layout: Layout) -> tuple[str, bytes]:
    """The upload's media type (CSV or JSON) and bytes; UploadRefused 415 for other types, 413 over the cap.

    The body is read in chunks and dropped as soon as it passes the cap, so an oversized
    upload never sits whole in memory.
    """
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in CSV_TYPES and kind != JSON_TYPE:
        raise UploadRefused(
            415, f"send the {layout.plural} as text/csv (header row {layout.listed()}) or as JSON"
        )
    too_large = UploadRefused(413, f"an import may be at most {max_bytes // 1_048_576} MB")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise too_large
    return kind, bytes(body)


class Cells:
    """One row being checked: reads its cells by column and gathers its problems."""

    __slots__ = ("problems", "row", "values")

    def __init__(self, row: int, values: Mapping[str, Any]) -> None:
        """Start checking `values`, the row numbered `row`; a row with stray values starts with a problem."""
        self.row = row
        self.values = values
        self.problems: list[RowProblem] = []
        extra = values.get(EXTRA)
        if extra:
            self.problem(None, str(extra))

    def problem(self, column: str | None, message: str) -> None:
        """Note a problem in `column` (None: the row as a whole)."""
        self.problems.append(RowProblem(self.row, column, message))

    @property
    def ok(self) -> bool:
        """Whether no problem was found so far."""
        return not self.problems

    def text(self, column: str, limit: int, *, required: bool = False, numbers: bool = True) -> str | None:
        """The cell as one line of text (spaces collapsed), None when empty; a number is read as text
        unless `numbers` is False (a phone written as a JSON number has lost its + and leading 0)."""
        value = self.values.get(column)
        if value is None:
            text = ""
        elif isinstance(value, str):
            text = " ".join(value.split())
        elif isinstance(value, int) and not isinstance(value, bool) and numbers:
            text = str(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            self.problem(
                column, f"write the {column} as text, in quotes: as a number it loses any leading + or 0"
            )
            return None
        else:
            self.problem(column, f"expected text, got {_json_kind(value)}")
            return None
        if not text:
            if required:
                self.problem(column, "required: it is empty")
            return None
        return self._storable(column, text, limit)

    def _storable(self, column: str, text: str, limit: int) -> str | None:
        if len(text) > limit:
            self.problem(column, f"too long: {len(text)} characters, at most {limit}")
            return None
        # A NUL, or half of a UTF-16 pair from JSON's \ud83d escapes: PostgreSQL cannot store them.
        if _UNSTORABLE.search(text):
            self.problem(column, "has a character that is not text (a NUL byte or half of an escaped pair)")
            return None
        return text

    def long_text(self, column: str, limit: int) -> str | None:
        """Free text kept as written (line breaks too), None when empty."""
        value = self.values.get(column)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            self.problem(column, f"expected text, got {_json_kind(value)}")
            return None
        return self._storable(column, value.strip(), limit)

    def flag(self, column: str) -> bool:
        """A yes/no cell: true/false, yes/no, y/n, 1/0 (any case) or a JSON boolean; empty is no."""
        value = self.values.get(column)
        if value is None or isinstance(value, bool):
            return bool(value)
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        word = value.strip().lower() if isinstance(value, str) else None
        if word in TRUE:
            return True
        if word not in FALSE:
            shown = repr(value) if isinstance(value, str) else _json_kind(value)
            self.problem(column, f"expected yes or no (true/false, y/n, 1/0), got {shown[:40]}")
        return False

    def moment(self, column: str, *, required: bool = False) -> datetime | None:
        """An ISO 8601 time with its UTC offset, as an aware time in UTC; None when empty."""
        value = self.values.get(column)
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.problem(column, f"not a time: {value}; {_ISO_HINT}")
            return None
        text = self.text(column, 60, required=required)
        return None if text is None else self.read_time(column, text)

    def read_time(self, column: str, text: str) -> datetime | None:
        """`text` as an aware time in UTC, or None with a problem saying what is wrong with it."""
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.problem(column, f"not a time: {text!r}; {_ISO_HINT}")
            return None
        if moment.tzinfo is None or moment.utcoffset() is None:
            self.problem(
                column,
                f"{text!r} has no UTC offset, so the moment is ambiguous; add one, such as"
                f" {moment.isoformat(timespec='minutes')}+01:00 or {moment.isoformat(timespec='minutes')}Z",
            )
            return None
        return moment.astimezone(UTC)

    def checked(self, column: str, value: str | None, check: Callable[[str], str]) -> str | None:
        """`check(value)` when there is a value; its InvalidInput becomes a problem of `column`."""
        if value is None:
            return None
        try:
            return check(value)
        except InvalidInput as exc:
            self.problem(column, str(exc))
            return None


def _json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
