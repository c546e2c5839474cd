"""Reading records from CSV and JSON: headers, broken lines, items, cells and the body reader."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from standby.errors import InvalidInput
from standby.intake import (
    EXTRA,
    MAX_PROBLEMS,
    Cells,
    Layout,
    RowProblem,
    RowsInvalid,
    UploadRefused,
    parse_body,
    parse_csv,
    parse_json,
    read_upload,
)

LAYOUT = Layout(
    plural="things", columns=("name", "phone", "when", "flag"), required=("name", "phone"), max_rows=3
)


def problems_of(exc: pytest.ExceptionInfo[RowsInvalid]) -> set[tuple[int, str | None]]:
    return {(p.row, p.column) for p in exc.value.problems}


def test_csv_rows_carry_the_line_they_start_on() -> None:
    text = '\ufeffName, PHONE ,when\n\nAda,+447700900101,\n"Bo\nBo",+447700900102,x\n  ,  ,  \n'
    parsed = parse_csv(text, LAYOUT)
    assert parsed.problems == []
    assert parsed.rows == [
        (3, {"name": "Ada", "phone": "+447700900101", "when": ""}),
        (4, {"name": "Bo\nBo", "phone": "+447700900102", "when": "x"}),
    ]


def test_a_bad_header_refuses_the_file_with_every_problem() -> None:
    with pytest.raises(RowsInvalid) as caught:
        parse_csv("nmae,name,name,,mobile\n", LAYOUT)
    assert problems_of(caught) == {(1, "nmae"), (1, "name"), (1, "(empty)"), (1, "mobile"), (1, "phone")}
    messages = {p.column: p.message for p in caught.value.problems}
    assert messages["nmae"].startswith("unknown column; did you mean 'name'?; the columns are name,phone")
    assert messages["name"] == "the column is named twice"
    assert messages["phone"] == "missing column: it is required"
    assert str(caught.value).startswith("5 problem(s) in the things; first: row 1, (empty): unknown column")


@pytest.mark.parametrize("text", ["", "\ufeff", "\n\n", " , \n"])
def test_an_empty_file_has_no_header(text: str) -> None:
    with pytest.raises(RowsInvalid) as caught:
        parse_csv(text, LAYOUT)
    assert caught.value.problems[0].message.startswith("no header row: the first line names the columns")


def test_a_broken_quote_costs_its_line_only() -> None:
    text = 'name,phone\n"Ada"x,+447700900101\nBo,+447700900102\n'
    parsed = parse_csv(text, LAYOUT)
    assert parsed.rows == [(3, {"name": "Bo", "phone": "+447700900102"})]
    assert [(p.row, p.column) for p in parsed.problems] == [(2, None)]
    assert parsed.problems[0].message.startswith("not CSV: ',' expected after '\"'")
    assert 'must be doubled: ""' in parsed.problems[0].message


def test_a_quote_never_closed_says_which_lines_it_swallowed() -> None:
    text = 'name,phone\nAda,+447700900101\nBo,"+447700900102\nCy,+447700900103\nDi,+447700900104\n'
    parsed = parse_csv(text, LAYOUT)
    assert parsed.rows == [(2, {"name": "Ada", "phone": "+447700900101"})]
    (problem,) = parsed.problems
    assert problem.row == 3
    assert "opened here is never closed" in problem.message and "lines 3 to 5" in problem.message


def test_extra_values_are_marked_for_the_caller() -> None:
    parsed = parse_csv("name,phone\nAda,+447700900101,oops\n", LAYOUT)
    (row,) = parsed.rows
    assert row[1][EXTRA] == "3 values for 2 columns (a stray comma?)"
    cells = Cells(*row)
    assert cells.problems == [RowProblem(2, None, "3 values for 2 columns (a stray comma?)")]


def test_too_many_rows_refuse_the_file() -> None:
    text = "name,phone\n" + "a,1\n" * 4
    with pytest.raises(RowsInvalid) as caught:
        parse_csv(text, LAYOUT)
    assert caught.value.problems == [RowProblem(5, None, "more than 3 things in one import")]
    with pytest.raises(RowsInvalid):
        parse_json([{"name": "a"}] * 4, LAYOUT)
    broken = "name,phone\n" + '"a"x,1\n' * 4
    with pytest.raises(RowsInvalid) as caught:
        parse_csv(broken, LAYOUT)
    assert caught.value.problems == [RowProblem(5, None, "more than 3 things in one import")]


def test_json_takes_an_object_a_list_or_the_wrapper() -> None:
    one = {"name": "Ada", "phone": "+447700900101"}
    assert parse_json(one, LAYOUT).rows == [(1, one)]
    assert parse_json([one, one], LAYOUT).rows == [(1, one), (2, one)]
    assert parse_json({"things": [one]}, LAYOUT).rows == [(1, one)]
    with pytest.raises(RowsInvalid) as caught:
        parse_json("Ada", LAYOUT)
    assert caught.value.problems[0].message == 'expected a JSON object, a list of them, or {"things": [...]}'


def test_odd_json_items_are_problems_of_their_own() -> None:
    parsed = parse_json([{"name": "Ada", "phnoe": "1"}, 7, {"name": "Bo"}], LAYOUT)
    assert parsed.rows == [(3, {"name": "Bo"})]
    assert parsed.problems == [
        RowProblem(1, "phnoe", "unknown field; did you mean 'phone'?"),
        RowProblem(2, None, "expected an object with name, phone, when, flag"),
    ]
    with pytest.raises(RowsInvalid):
        parsed.all_or_nothing("things")


def test_bodies_that_cannot_be_read() -> None:
    with pytest.raises(UploadRefused) as latin:
        parse_body("text/csv", "name,phone\nZo\xeb,1\n".encode("latin-1"), LAYOUT)
    assert latin.value.status == 422 and "not UTF-8" in str(latin.value) and "byte 14" in str(latin.value)
    with pytest.raises(UploadRefused) as broken:
        parse_body("application/json", b"[{", LAYOUT)
    assert str(broken.value) == "the body is not valid JSON"
    parsed = parse_body("application/json", json.dumps([{"name": "A"}]).encode(), LAYOUT)
    assert parsed.rows == [(1, {"name": "A"})]


def test_the_problem_list_is_capped() -> None:
    many = [RowProblem(n, None, "bad") for n in range(MAX_PROBLEMS + 5, 0, -1)]
    error = RowsInvalid(many)
    assert len(error.problems) == MAX_PROBLEMS and error.problems[0].row == 1
    assert isinstance(error, InvalidInput)


def test_text_cells() -> None:
    cells = Cells(4, {"a": "  two   words ", "b": "", "c": 12, "d": True, "e": "x" * 11, "f": 7})
    assert cells.text("a", 10) == "two words"
    assert cells.text("b", 10) is None and cells.ok
    assert cells.text("b", 10, required=True) is None
    assert cells.text("c", 10) == "12"
    assert cells.text("d", 10) is None
    assert cells.text("e", 10) is None
    assert cells.text("f", 10, numbers=False) is None
    assert cells.text("missing", 10) is None
    assert [(p.column, p.message) for p in cells.problems] == [
        ("b", "required: it is empty"),
        ("d", "expected text, got true or false"),
        ("e", "too long: 11 characters, at most 10"),
        ("f", "write the f as text, in quotes: as a number it loses any leading + or 0"),
    ]


def test_text_a_database_cannot_store_is_refused() -> None:
    cells = Cells(2, {"a": "nul\x00here", "b": "half \ud83d pair", "c": "whole \U0001f600 pair"})
    assert cells.text("a", 50) is None and cells.long_text("b", 50) is None
    assert cells.text("c", 50) == "whole \U0001f600 pair"
    assert [p.column for p in cells.problems] == ["a", "b"]
    assert cells.problems[0].message.startswith("has a character that is not text")


def test_long_text_keeps_line_breaks() -> None:
    cells = Cells(2, {"notes": " line one\nline two ", "blank": "  ", "list": [1]})
    assert cells.long_text("notes", 100) == "line one\nline two"
    assert cells.long_text("blank", 100) is None
    assert cells.long_text("notes", 5) is None
    assert cells.long_text("list", 100) is None
    assert [p.message for p in cells.problems] == [
        "too long: 17 characters, at most 5",
        "expected text, got a list",
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("yes", True),
        ("Y", True),
        ("TRUE", True),
        ("1", True),
        (True, True),
        (1, True),
        ("no", False),
        ("n", False),
        ("False", False),
        ("0", False),
        ("", False),
        (None, False),
        (False, False),
    ],
)
def test_flags(value: object, expected: bool) -> None:
    cells = Cells(2, {"flag": value})
    assert cells.flag("flag") is expected and cells.ok


@pytest.mark.parametrize("value", ["maybe", "2", 2, 1.0, ["yes"]])
def test_bad_flags(value: object) -> None:
    cells = Cells(2, {"flag": value})
    assert cells.flag("flag") is False
    assert cells.problems[0].message.startswith("expected yes or no (true/false, y/n, 1/0), got")


def test_moments_need_their_offset() -> None:
    cells = Cells(
        9,
        {
            "a": "2026-06-15T14:30:00+01:00",
            "b": "2026-06-15T13:30Z",
            "c": "2026-06-15T14:30",
            "d": "tomorrow",
            "e": 1718000000,
        },
    )
    assert cells.moment("a") == datetime(2026, 6, 15, 13, 30, tzinfo=UTC)
    assert cells.moment("b") == datetime(2026, 6, 15, 13, 30, tzinfo=UTC)
    assert cells.moment("a") is not None and cells.moment("a").tzinfo is UTC  # type: ignore[union-attr]
    assert cells.moment("c") is None
    assert cells.moment("d") is None
    assert cells.moment("e") is None
    assert cells.moment("missing", required=True) is None
    messages = {p.column: p.message for p in cells.problems}
    assert messages["c"].startswith("'2026-06-15T14:30' has no UTC offset, so the moment is ambiguous")
    assert messages["d"].startswith("not a time: 'tomorrow'; write it in ISO 8601 with its offset")
    assert messages["e"].startswith("not a time: 1718000000; write it in ISO 8601 with its offset")
    assert messages["missing"] == "required: it is empty"


def test_checked_turns_invalid_input_into_a_problem() -> None:
    def even(text: str) -> str:
        if len(text) % 2:
            raise InvalidInput("odd length")
        return text.upper()

    cells = Cells(3, {})
    assert cells.checked("x", "ab", even) == "AB"
    assert cells.checked("x", None, even) is None
    assert cells.checked("x", "abc", even) is None
    assert cells.problems == [RowProblem(3, "x", "odd length")]


class Upload:
    def __init__(self, headers: dict[str, str], *chunks: bytes) -> None:
        self.headers = headers
        self.chunks = chunks

    async def stream(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


@pytest.mark.anyio
async def test_the_upload_reader() -> None:
    csv_upload = Upload({"content-type": "text/csv; charset=utf-8"}, b"name,", b"phone\n")
    assert await read_upload(csv_upload, max_bytes=100, layout=LAYOUT) == ("text/csv", b"name,phone\n")
    json_upload = Upload({"content-type": "Application/JSON"}, b"[]")
    assert await read_upload(json_upload, max_bytes=100, layout=LAYOUT) == ("application/json", b"[]")
    with pytest.raises(UploadRefused) as yaml:
        await read_upload(Upload({"content-type": "text/yaml"}, b"- a"), max_bytes=100, layout=LAYOUT)
    assert yaml.value.status == 415 and "header row name,phone,when,flag" in str(yaml.value)
    with pytest.raises(UploadRefused) as declared:
        await read_upload(
            Upload({"content-type": "text/csv", "content-length": "3000000"}),
            max_bytes=2_097_152,
            layout=LAYOUT,
        )
    assert declared.value.status == 413 and str(declared.value) == "an import may be at most 2 MB"
    with pytest.raises(UploadRefused) as streamed:
        await read_upload(
            Upload({"content-type": "text/csv"}, b"x" * 60, b"x" * 60), max_bytes=100, layout=LAYOUT
        )
    assert streamed.value.status == 413


def test_times_with_other_offsets_compare_as_instants() -> None:
    cells = Cells(2, {"when": "2026-06-15T09:30:00-04:00"})
    moment = cells.moment("when")
    assert moment == datetime(2026, 6, 15, 9, 30, tzinfo=timezone(-timedelta(hours=4)))
