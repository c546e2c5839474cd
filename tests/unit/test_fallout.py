"""The bit-sliced column counter of plan.fallout against counting each row's bits one by one."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from standby.plan.fallout import columns, set_bits


def _naive(rows: list[int], wanted: int, shown: int) -> tuple[dict[int, int], dict[int, list[int]]]:
    counts: dict[int, int] = {}
    first: dict[int, list[int]] = {}
    for position, row in enumerate(rows):
        for column in set_bits(row & wanted):
            counts[column] = counts.get(column, 0) + 1
            if len(first.setdefault(column, [])) < shown:
                first[column].append(position)
    return counts, first


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.integers(min_value=0, max_value=(1 << 70) - 1), max_size=300),
    wanted=st.integers(min_value=0, max_value=(1 << 70) - 1),
    shown=st.integers(min_value=0, max_value=4),
)
def test_counts_and_first_rows_match_a_count_row_by_row(rows: list[int], wanted: int, shown: int) -> None:
    found = columns(rows, wanted, shown)
    counts, first = _naive(rows, wanted, shown)
    for column in range(wanted.bit_length() + 8):
        assert found.count(column) == counts.get(column, 0)
        assert found.rows(column) == first.get(column, [])


def test_a_wide_counter_with_many_planes() -> None:
    # 1,000 rows with every column set need ten planes; the columns are 20,003 wide.
    width = 20_003
    rows = [(1 << width) - 1] * 1_000 + [1 << (width - 1)]
    found = columns(rows, (1 << width) - 1, 2)
    assert found.count(0) == 1_000
    assert found.count(width - 1) == 1_001
    assert found.count(width) == 0
    assert found.rows(width - 1) == [0, 1]
