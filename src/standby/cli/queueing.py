"""`standby erlang` and `standby staff`: Erlang C and A for one queue, and the agents it needs."""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from standby.cli.common import app, fail, out
from standby.errors import StandbyError

if TYPE_CHECKING:  # imported where used: every command starts without the queueing maths
    from rich.table import Table

    from standby.impact.erlang import Performance, Traffic

_MODEL_HELP = (
    "Erlang A when --patience-s is given (callers hang up), else Erlang C (callers wait as long as it"
    " takes, so it needs more agents than the offered load)."
)
_DEFINITIONS_HELP = (
    "Service level: calls answered within T (--answer-within-s) over calls offered, so a call that"
    " abandons counts against it. Also shown: answered within T over answered calls, and answered"
    " within T over offered calls less those abandoned within T. ASA: the mean wait of answered"
    " calls. Mean wait of all calls: an abandoned call counts its time until it hung up."
)
CallsOption = Annotated[
    float, typer.Option("--calls", metavar="N", help="Calls offered over the interval.", show_default=False)
]
IntervalOption = Annotated[
    float,
    typer.Option(
        "--interval-minutes", metavar="M", help="The interval's length in minutes.", show_default=False
    ),
]
AhtOption = Annotated[
    float, typer.Option("--aht-s", metavar="S", help="Mean handling time in seconds.", show_default=False)
]
WithinOption = Annotated[
    float,
    typer.Option(
        "--answer-within-s", metavar="T", help="The service-level threshold in seconds.", show_default=False
    ),
]
PatienceOption = Annotated[
    float | None,
    typer.Option(
        "--patience-s",
        metavar="P",
        help="Callers' mean patience in seconds: use Erlang A (callers hang up), not Erlang C.",
        show_default="none: Erlang C, nobody hangs up",
    ),
]


def _traffic(calls: float, interval: float, aht_s: float, within: float, patience: float | None) -> Traffic:
    """The traffic the options describe, or exit 2 naming the option that is wrong."""
    from standby.impact.erlang import Traffic

    try:
        return Traffic.over_interval(
            calls=calls, interval_minutes=interval, aht_s=aht_s, answer_within_s=within, patience_s=patience
        )
    except StandbyError as exc:
        raise fail(_as_options(str(exc))) from None


def _as_options(message: str) -> str:
    """A core message with the options' names: aht_s becomes --aht-s, and so on."""
    message = re.sub(
        r"\b(interval_minutes|aht_s|answer_within_s|patience_s|max_occupancy|max_abandon)\b",
        lambda found: "--" + found.group(1).replace("_", "-"),
        message,
    )
    # Plain words are option names only where the message starts with one ("calls must be ...").
    return re.sub(r"^(calls|agents|target) ", r"--\1 ", message)


def _performance_table(result: Performance, title: str) -> Table:
    """Every measure of `result`, one a row, with the model in the title."""
    from rich.table import Table

    model = "Erlang A" if result.model == "erlang-a" else "Erlang C"
    within = f"{result.traffic.answer_within_s:g} s"
    table = Table("measure", "value", title=f"{title} ({model})", title_justify="left")
    table.add_row("agents", f"{result.agents:,}")
    table.add_row("offered load", f"{result.traffic.offered_load:,.2f} Erlangs")
    table.add_row(f"service level (answered within {within} / offered)", f"{result.service_level:.2%}")
    table.add_row(f"  answered within {within} / answered", f"{result.service_level_of_answered:.2%}")
    table.add_row(
        f"  ... / offered less abandoned within {within}",
        f"{result.service_level_excluding_short_abandons:.2%}",
    )
    table.add_row("average speed of answer (answered calls)", f"{result.asa_s:,.1f} s")
    table.add_row("mean wait of all calls", f"{result.mean_wait_s:,.1f} s")
    table.add_row("probability of waiting", f"{result.p_wait:.2%}")
    table.add_row("probability of abandoning", f"{result.p_abandon:.2%}")
    table.add_row(f"  abandoning within {within}", f"{result.p_abandon_within_threshold:.2%}")
    table.add_row("occupancy", f"{result.occupancy:.2%}")
    return table


@app.command(
    "erlang",
    short_help="Service level, ASA, P(wait), P(abandon) and occupancy with a number of agents.",
    help="Service level, ASA, P(wait), P(abandon) and occupancy with a number of agents.\n\n"
    f"{_MODEL_HELP}\n\n{_DEFINITIONS_HELP}",
)
def erlang_command(
    calls: CallsOption,
    interval_minutes: IntervalOption,
    aht_s: AhtOption,
    agents: Annotated[
        int, typer.Option("--agents", metavar="K", help="Agents answering.", show_default=False)
    ],
    answer_within_s: WithinOption,
    patience_s: PatienceOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Service level, ASA, P(wait), P(abandon) and occupancy with a number of agents."""
    from standby.impact.erlang import performance

    traffic = _traffic(calls, interval_minutes, aht_s, answer_within_s, patience_s)
    try:
        result = performance(traffic, agents)
    except StandbyError as exc:
        raise fail(_as_options(str(exc))) from None
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
        return
    out.print(_performance_table(result, f"{calls:g} calls in {interval_minutes:g} minutes"))


@app.command(
    "staff",
    short_help="The fewest agents that meet a service-level target, and what they achieve.",
    help="The fewest agents that meet a service-level target, and what they achieve.\n\n"
    f"{_MODEL_HELP} The target is for the first service-level definition below; --max-occupancy"
    f" and --max-abandon add limits.\n\n{_DEFINITIONS_HELP}",
)
def staff_command(
    calls: CallsOption,
    interval_minutes: IntervalOption,
    aht_s: AhtOption,
    answer_within_s: WithinOption,
    target: Annotated[
        float,
        typer.Option(
            "--target",
            metavar="SHARE",
            help="Service level to reach, above 0 and at most 1, such as 0.8.",
            show_default=False,
        ),
    ],
    max_occupancy: Annotated[
        float | None,
        typer.Option("--max-occupancy", metavar="SHARE", help="Highest acceptable occupancy, such as 0.85."),
    ] = None,
    max_abandon: Annotated[
        float | None,
        typer.Option(
            "--max-abandon",
            metavar="SHARE",
            help="Highest acceptable share of callers who hang up, such as 0.05 (Erlang A only).",
        ),
    ] = None,
    patience_s: PatienceOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """The fewest agents that meet a service-level target, and what they achieve."""
    from standby.impact.staffing import staff as staff_for

    traffic = _traffic(calls, interval_minutes, aht_s, answer_within_s, patience_s)
    try:
        plan = staff_for(traffic, target=target, max_occupancy=max_occupancy, max_abandon=max_abandon)
    except StandbyError as exc:
        raise fail(_as_options(str(exc))) from None
    if as_json:
        sys.stdout.write(json.dumps(plan.to_dict(), indent=2) + "\n")
        return
    goals = [f"service level {target * 100:g}%"]
    if max_occupancy is not None:
        goals.append(f"occupancy at most {max_occupancy * 100:g}%")
    if max_abandon is not None:
        goals.append(f"abandonment at most {max_abandon * 100:g}%")
    out.print(_performance_table(plan.performance, f"{calls:g} calls in {interval_minutes:g} minutes"))
    why = ", ".join(plan.limited_by) or "nothing: one agent meets every goal"
    why = why.replace("stability", "stability (callers would wait forever under Erlang C)")
    out.print(
        f"{plan.agents:,} agents are the fewest that meet {', '.join(goals)}."
        f" With one fewer, it misses: {why}.",
        markup=False,
        soft_wrap=True,
    )
