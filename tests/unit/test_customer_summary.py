"""The commander's figures of an outage's customers, and the line they are read by (pure core)."""

from __future__ import annotations

from standby.customers.compensation import Amount, Totals, money_text
from standby.customers.summary import CustomerFigures, headline


def gbp(offered: int, paid: int = 0) -> Totals:
    by_state = {
        "offered": Amount(offered - paid, (offered - paid) * 1000),
        "accepted": Amount(),
        "declined": Amount(),
        "paid": Amount(paid, paid * 1000),
    }
    return Totals("GBP", Amount(offered, offered * 1000), by_state)


FIGURES = CustomerFigures(
    outage_id=4,
    customers_affected=412,
    vulnerable_affected=37,
    callbacks={"flagged": 380, "missed": 120, "rescheduled": 350, "unplaced": 12, "completed": 0},
    calls={"cut_off": 32, "followed_up": 20, "open": 12},
    outcomes={"logged": 45, "follow_up": 9},
    compensation=[gbp(240, 30)],
)


def test_the_headline_says_everything_in_one_line() -> None:
    assert headline(FIGURES) == (
        "412 customers affected (37 vulnerable); 380 callbacks, 120 missed, 350 rescheduled,"
        " 12 need a person; 32 calls cut off, 20 followed up; 45 outcomes logged;"
        " £2,400.00 offered, £300.00 paid"
    )


def test_the_headline_leaves_out_what_has_nothing_to_say() -> None:
    one = CustomerFigures(outage_id=4, customers_affected=1, calls={"cut_off": 1})
    assert headline(one) == "1 customer affected; 1 call cut off, 0 followed up"
    assert headline(CustomerFigures(outage_id=4)) == "0 customers affected"


def test_the_figures_as_json_have_every_name_even_when_zero() -> None:
    data = FIGURES.as_dict()
    assert data["customers"] == {"affected": 412, "vulnerable": 37}
    assert data["callbacks"] == {
        "flagged": 380,
        "missed": 120,
        "rescheduled": 350,
        "unplaced": 12,
        "confirmed": 0,
        "completed": 0,
        "cancelled": 0,
    }
    assert data["calls"] == {"cut_off": 32, "followed_up": 20, "open": 12}
    assert data["outcomes"] == {"logged": 45, "follow_up": 9}
    assert data["compensation"] == [
        {
            "currency": "GBP",
            "total": {"count": 240, "amount_minor": 240000},
            "offered": {"count": 210, "amount_minor": 210000},
            "accepted": {"count": 0, "amount_minor": 0},
            "declined": {"count": 0, "amount_minor": 0},
            "paid": {"count": 30, "amount_minor": 30000},
        }
    ]
    assert not FIGURES.empty and CustomerFigures(outage_id=4).empty


def test_money_for_people() -> None:
    assert money_text(240000, "GBP") == "£2,400.00"
    assert money_text(5, "EUR") == "€0.05"
    assert money_text(1000, "JPY") == "JPY 1,000"
    assert money_text(1500, "KWD") == "KWD 1.500"
