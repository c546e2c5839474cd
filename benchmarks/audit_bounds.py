"""How long, and in how much memory, the audit of a very large plan runs, against whole blast radii.

Three shapes of plan, each at 5,000 and 20,000 components (YAML in a temporary folder):

- **chain**: c0 <- c1 <- ... <- c(n-1), the only site and queue need the last: every
  component is a single point of failure and the first takes down all the others;
- **fan**: one root every other component needs, and a queue that needs them all;
- **mix**: the realistic plan of benchmarks/plan_scale.py (redundant pairs behind
  any_of groups, layered services, sites, queues, teams).

Each step runs in its own process, which reports its wall time and peak resident memory
(ru_maxrss, imports included: `python -m standby --help` alone is the floor):

1. `standby check` (loading and every rule);
2. the audit as a library call: load, topology, every finding;
3. `standby audit --json` to /dev/null;
4. GET /api/v1/audit from the app (httpx in process) on a scratch SQLite file holding the
   plan, and the size of the answer;
5. the peer, what the audit did before: every component's whole blast radius, kept
   (`Topology.blast_radius` for each). It is quadratic on a chain, so it only runs up to
   --whole-up-to components (default 5,000).

    .venv/bin/python benchmarks/audit_bounds.py [--sizes 5000,20000] [--shapes chain,fan,mix] \
        [--steps check,audit,cli,api,whole] [--quick] [--json]

The target (issue 12): every plan of 20,000 components audits under 300 MB, whichever way it is
asked. `--quick`: the 20,000 chain alone, the audit as a library call and through the API.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from _ratios import figure, print_json

PEAK_TARGET_MB = 300.0
TODAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


# ---- the plans ---------------------------------------------------------------------------


def _centre(
    components: list[dict[str, Any]], site_needs: list[str], queue_needs: list[str]
) -> dict[str, Any]:
    return {
        "organisation": {"name": "Bounds centre", "timezone": "Europe/London", "plan_reviewed": "2026-06-01"},
        "components": components,
        "sites": [{"id": "office", "name": "Office", "seats": 50, "depends_on": site_needs}],
        "queues": [
            {
                "id": "sales",
                "name": "Sales",
                "depends_on": queue_needs,
                "service_level": {"answer_within_s": 20, "target": 0.8},
                "aht_s": 300,
            }
        ],
        "teams": [
            {
                "id": "desk",
                "site": "office",
                "queues": ["sales"],
                "agents": 20,
                "shift": {"start": "08:00", "end": "20:00"},
            }
        ],
    }


def chain(n: int) -> dict[str, Any]:
    """Each component needs the one before; the site and the queue need the last."""
    components = [{"id": "c0", "name": "C0"}]
    components += [{"id": f"c{i}", "name": f"C{i}", "depends_on": [f"c{i - 1}"]} for i in range(1, n)]
    return _centre(components, [f"c{n - 1}"], [f"c{n - 1}"])


def fan(n: int) -> dict[str, Any]:
    """One root all the others need; the queue needs every one of them."""
    components = [{"id": "root", "name": "Root"}]
    components += [{"id": f"c{i}", "name": f"C{i}", "depends_on": ["root"]} for i in range(1, n)]
    return _centre(components, [], [f"c{i}" for i in range(1, n)])


def mix(n: int) -> dict[str, Any]:
    """The realistic plan of plan_scale.py."""
    sys.path.insert(0, str(Path(__file__).parent))
    from plan_scale import generate_plan

    return generate_plan(n, 7)


SHAPES = {"chain": chain, "fan": fan, "mix": mix}


# ---- the steps, each run in a child process -----------------------------------------------


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step_floor(_: Path) -> dict[str, Any]:
    import standby.cli  # noqa: F401  (what every command imports)

    return {}


def step_check(path: Path) -> dict[str, Any]:
    from standby.plan.loading import load_plan_file

    load_plan_file(path)
    return {}


def step_audit(path: Path) -> dict[str, Any]:
    from standby.plan.audit import audit
    from standby.plan.loading import load_plan_file

    findings = audit(load_plan_file(path), today=TODAY)
    return {"findings": len(findings)}


def step_cli(path: Path) -> dict[str, Any]:
    with open(os.devnull, "w") as sink:
        done = subprocess.run(
            [sys.executable, "-m", "standby", "audit", str(path), "--json", "--today", TODAY.isoformat()],
            stdout=sink,
            check=False,
        )
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"exit": done.returncode, "peak_mb": usage.ru_maxrss / 1024}


def step_api(path: Path) -> dict[str, Any]:
    import httpx

    from standby.access.roles import Role
    from standby.access.service import create_token
    from standby.clock import FakeClock
    from standby.config import Settings
    from standby.plan.loading import load_plan_file
    from standby.plan.versions import record_plan
    from standby.store.engine import make_engine, make_session_factory, unit_of_work
    from standby.store.migrations import upgrade
    from standby.web.app import create_app

    folder = path.parent
    url = f"sqlite+pysqlite:///{folder}/api.db"
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        record_plan(session, plan=load_plan_file(path), source=path.read_text(encoding="utf-8"), now=NOW)
        token = create_token(session, name="bench", role=Role.VIEWER, now=NOW)
    app = create_app(
        Settings(database_url=url, data_dir=folder), clock=FakeClock(NOW), session_factory=factory
    )

    async def get() -> tuple[float, int, int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            start = time.perf_counter()
            response = await client.get("/api/v1/audit", headers={"Authorization": f"Bearer {token}"})
            return time.perf_counter() - start, response.status_code, len(response.content)

    # The server's own memory while it answers, not the setup's: Linux resets the peak
    # (VmHWM) on request; elsewhere the peak includes loading the plan into the database.
    baseline = _reset_peak()
    seconds, status, size = asyncio.run(get())
    engine.dispose()
    result: dict[str, Any] = {"seconds": seconds, "status": status, "bytes": size}
    if baseline is not None:
        result["peak_mb"] = _vm("VmHWM")
        result["before_mb"] = baseline
    return result


def _vm(field: str) -> float:
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def _reset_peak() -> float | None:
    """Reset the peak resident memory to the current one (Linux); that value, or None."""
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="utf-8")
        return _vm("VmRSS")
    except OSError:
        return None


def step_whole(path: Path) -> dict[str, Any]:
    from standby.plan.loading import load_plan_file
    from standby.plan.topology import Topology

    plan = load_plan_file(path)
    topology = Topology.from_plan(plan)
    radii = [topology.blast_radius(c.id) for c in plan.components]  # kept, as the audit kept them
    return {"names": sum(len(r.components) + len(r.sites) + len(r.queues_lost) for r in radii)}


STEPS = {
    "floor": step_floor,
    "check": step_check,
    "audit": step_audit,
    "cli": step_cli,
    "api": step_api,
    "whole": step_whole,
}
LABELS = {
    "check": "standby check",
    "audit": "audit (library call)",
    "cli": "standby audit --json",
    "api": "GET /api/v1/audit",
    "whole": "peer: whole blast radii",
}


def child(step: str, path: Path) -> None:
    """Run one step here and print what it measured as JSON."""
    start = time.perf_counter()
    result = STEPS[step](path)
    result.setdefault("seconds", time.perf_counter() - start)
    result.setdefault("peak_mb", _peak_mb())
    print(json.dumps(result))


def measure(step: str, path: Path, timeout: float) -> dict[str, Any]:
    """One step in a fresh process: its figures, or why there are none."""
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", step, str(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f} s"}
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Generate the plans, measure every step of each, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,20000", help="components per plan, comma-separated")
    parser.add_argument("--shapes", default="chain,fan,mix", help=f"of {', '.join(SHAPES)}")
    parser.add_argument("--whole-up-to", type=int, default=5000, help="largest plan the peer runs on")
    parser.add_argument("--timeout", type=float, default=600, help="seconds a step may take")
    parser.add_argument("--steps", default=",".join(LABELS), help=f"of {', '.join(LABELS)}")
    parser.add_argument("--quick", action="store_true", help="the 20,000 chain: library call and API")
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object on stdout")
    parser.add_argument("--child", nargs=2, metavar=("STEP", "PLAN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    if args.quick:
        args.sizes, args.shapes, args.steps = "20000", "chain", "audit,api"
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
    except ValueError:
        parser.error(f"--sizes: whole numbers separated by commas, not {args.sizes!r}")
    shapes = args.shapes.split(",")
    steps = args.steps.split(",")
    unknown = [name for name in shapes if name not in SHAPES] + [name for name in steps if name not in LABELS]
    if unknown:
        parser.error(f"no shape or step named {', '.join(unknown)}")
    # With --json, stdout carries the JSON object alone: the table goes to stderr.
    console = Console(stderr=args.json)
    rows: list[tuple[str, int, str, dict[str, Any]]] = []
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        floor = measure("floor", Path("."), args.timeout)
        task = progress.add_task("measuring", total=len(sizes) * len(shapes))
        for shape in shapes:
            for size in sizes:
                with tempfile.TemporaryDirectory() as folder:
                    path = Path(folder) / "plan.yaml"
                    text = yaml.safe_dump(SHAPES[shape](size), sort_keys=False, default_flow_style=None)
                    path.write_text(text, encoding="utf-8")
                    for step in steps:
                        progress.update(task, description=f"{shape} {size:,}: {LABELS[step]}")
                        if step == "whole" and size > args.whole_up_to:
                            rows.append((shape, size, step, {"error": "not run (quadratic)"}))
                            continue
                        rows.append((shape, size, step, measure(step, path, args.timeout)))
                progress.advance(task)
    table = Table(title="Auditing large plans: wall time and peak memory of each step, in its own process")
    for heading in ("plan", "step", "seconds", "peak MB", "answer"):
        table.add_column(heading, justify="right" if heading in ("seconds", "peak MB") else "left")
    for shape, size, step, result in rows:
        if "error" in result:
            table.add_row(f"{shape} {size:,}", LABELS[step], "-", "-", result["error"])
            continue
        answer = ""
        if "bytes" in result:
            answer = f"{result['bytes'] / 1_048_576:.1f} MB, HTTP {result['status']}"
            if "before_mb" in result:
                answer += f", {result['before_mb']:.0f} MB before it"
        elif "findings" in result:
            answer = f"{result['findings']:,} findings"
        elif "names" in result:
            answer = f"{result['names']:,} names kept"
        table.add_row(
            f"{shape} {size:,}", LABELS[step], f"{result['seconds']:.2f}", f"{result['peak_mb']:.0f}", answer
        )
    console.print(table)
    console.print(f"Floor: importing the command line alone peaks at {floor.get('peak_mb', 0):.0f} MB.")
    for shape in shapes:
        ours = next(
            (r for s, n, st, r in rows if (s, st) == (shape, "audit") and n <= args.whole_up_to), None
        )
        peer = next((r for s, n, st, r in rows if (s, st) == (shape, "whole") and "error" not in r), None)
        if ours and peer and "error" not in ours:
            console.print(
                f"{shape}: the audit takes {ours['seconds'] / peer['seconds']:.2f}x the time and"
                f" {ours['peak_mb'] / peer['peak_mb']:.2f}x the peak memory of keeping whole blast radii"
            )
    if args.json:
        print_json(
            [
                figure(f"{shape} {size:,}: {LABELS[step]}, peak", result["peak_mb"], PEAK_TARGET_MB, "MB",
                       "lower")
                for shape, size, step, result in rows
                if step != "whole" and "error" not in result
            ],
            [f"{shape} {size:,}: {LABELS[step]}: {result['error']}" for shape, size, step, result in rows
             if "error" in result and step != "whole"],
            rows=[{"plan": f"{shape} {size}", "step": step, **result} for shape, size, step, result in rows],
        )


if __name__ == "__main__":
    main()
