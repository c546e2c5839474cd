"""How long checking and auditing a large plan takes.

Generates a realistic plan of N components (default 5,000): carrier trunks in
pairs, session border controllers and platform services in redundant pairs
used through any_of groups, layered services each needing a few of the layer
below, a power feed and two WAN links per site, sites with teams, queues with
forecasts, stakeholders, strategies, tolerances and drills. It writes the plan
as YAML to a temporary file, then times `load_plan_file` (what `standby check`
does) and the audit (the topology and every finding).

    .venv/bin/python benchmarks/plan_scale.py [--components 5000] [--seed 7] [--repeat 3] [--quick] [--json]

Targets (issue 2, "checking and auditing a 5,000-component plan takes seconds"): `standby check`
at most the time of the peer, PyYAML + jsonschema, which checks values only; check and audit
together under 10 s. `--quick`: one timed run of each step.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from _ratios import figure, print_json
from standby.plan.audit import audit, count_by_severity
from standby.plan.loading import load_plan_file, plan_json_schema
from standby.plan.topology import Topology

SERVICE_KINDS = ["acd", "ivr", "crm", "wfm", "dialler", "recording", "identity", "other"]
TODAY = date(2026, 11, 22)


def _probe(rng: random.Random, index: int) -> dict[str, Any] | None:
    roll = rng.random()
    if roll < 0.1:
        return None  # some parts nobody watches: the audit reports them
    if roll < 0.5:
        return {
            "type": "http",
            "target": f"http://127.0.{index // 250}.{index % 250 + 1}:8080/health",
            "interval_s": 30,
        }
    if roll < 0.8:
        return {"type": "tcp", "target": f"127.1.{index // 250}.{index % 250 + 1}:443", "interval_s": 30}
    return {"type": "heartbeat", "every_s": 60}


def generate_plan(components: int, seed: int) -> dict[str, Any]:
    """A plan dict with about `components` components, reproducible from `seed`."""
    rng = random.Random(seed)
    n_sites = max(2, components // 25)
    n_queues = max(3, components // 10)
    n_vendors = max(3, components // 50)
    vendors = [
        {
            "id": f"vendor-{v}",
            "name": f"Vendor {v}",
            "support": {"phone": f"+44 20 7946 {v % 10000:04d}", "hours": "24x7"},
            "contingency_plan_reviewed": f"20{rng.randint(24, 26)}-{rng.randint(1, 12):02d}-15",
        }
        for v in range(n_vendors)
    ]
    comps: list[dict[str, Any]] = []

    def add(cid: str, kind: str, depends_on: list[Any], **extra: Any) -> None:
        record: dict[str, Any] = {"id": cid, "name": cid.replace("-", " ").capitalize(), "kind": kind}
        if depends_on:
            record["depends_on"] = depends_on
        probe = _probe(rng, len(comps))
        if probe is not None:
            record["probe"] = probe
        record["vendor"] = f"vendor-{rng.randrange(n_vendors)}"
        record.update(extra)
        comps.append(record)

    # Per-site infrastructure: a power feed and two WAN links.
    for s in range(n_sites):
        add(f"site-{s}-power", "power", [])
        add(f"site-{s}-wan-1", "network", [])
        add(f"site-{s}-wan-2", "network", [])
    # Carrier trunks in pairs, and identity in a pair.
    trunk_pairs = max(2, components // 100)
    for t in range(trunk_pairs):
        add(f"trunk-{t}-a", "sip_trunk", [])
        add(f"trunk-{t}-b", "sip_trunk", [])
    add("identity-a", "identity", [])
    add("identity-b", "identity", [])
    # Layered services: most are redundant pairs used through any_of groups; some are
    # single instances, which is where single points of failure come from.
    remaining = components - len(comps)
    layers = 6
    per_layer = max(1, remaining // layers)
    below: list[list[str]] = [[f"trunk-{t}-a", f"trunk-{t}-b"] for t in range(trunk_pairs)]
    serial = 0
    for layer in range(layers):
        current: list[list[str]] = []
        budget = per_layer if layer < layers - 1 else components - len(comps)
        while budget > 0:
            needs = rng.sample(below, k=min(len(below), rng.randint(1, 3)))
            depends_on: list[Any] = [{"any_of": g} if len(g) > 1 else g[0] for g in needs]
            kind = rng.choice(SERVICE_KINDS)
            base = f"svc-{layer}-{serial}"
            serial += 1
            eol = {"version": "1.0", "end_of_life": "2026-12-31"} if rng.random() < 0.02 else {}
            if budget >= 2 and rng.random() < 0.8:
                add(f"{base}-a", kind, depends_on, **eol)
                add(f"{base}-b", kind, depends_on, **eol)
                current.append([f"{base}-a", f"{base}-b"])
                budget -= 2
            else:
                add(base, kind, depends_on, **eol)
                current.append([base])
                budget -= 1
        below = current
    top = below
    sites = [
        {
            "id": f"site-{s}",
            "name": f"Site {s}",
            "kind": "office",
            "seats": rng.randint(40, 200),
            "depends_on": [
                f"site-{s}-power",
                {"any_of": [f"site-{s}-wan-1", f"site-{s}-wan-2"]},
                {"any_of": ["identity-a", "identity-b"]},
            ],
        }
        for s in range(n_sites)
    ]
    sites.append({"id": "home", "name": "Home working", "kind": "home", "seats": 400})
    queues = []
    for q in range(n_queues):
        needs = rng.sample(top, k=min(len(top), rng.randint(2, 4)))
        queues.append(
            {
                "id": f"queue-{q}",
                "name": f"Queue {q}",
                "depends_on": [{"any_of": g} if len(g) > 1 else g[0] for g in needs],
                "service_level": {"answer_within_s": 20, "target": 0.8},
                "aht_s": rng.randint(180, 600),
                "patience_s": 120,
                "value_per_call": 5,
                "forecast": {
                    "interval_minutes": 30,
                    "start": "08:00",
                    "calls": [rng.randint(10, 200) for _ in range(24)],
                },
            }
        )
    teams = []
    for s in range(n_sites):
        for t in range(2):
            skills = rng.sample(range(n_queues), k=min(n_queues, rng.randint(2, 6)))
            teams.append(
                {
                    "id": f"team-{s}-{t}",
                    "site": f"site-{s}",
                    "queues": [f"queue-{q}" for q in skills],
                    "agents": rng.randint(10, 60),
                    "shift": {"start": "08:00", "end": "20:00"},
                    "hourly_cost": 18,
                    "home_capable": round(rng.uniform(0.2, 0.9), 2),
                }
            )
    people = [
        {"id": f"person-{p}", "name": f"Person {p}", "email": f"p{p}@centre.example"} for p in range(20)
    ]
    return {
        "organisation": {
            "name": "Scale test centre",
            "timezone": "Europe/London",
            "plan_reviewed": "2026-03-01",
        },
        "vendors": vendors,
        "components": comps,
        "sites": sites,
        "queues": queues,
        "teams": teams,
        "people": people,
        "rotations": [
            {
                "id": "oncall",
                "members": ["person-0", "person-1"],
                "handoff": {"weekday": "monday", "time": "09:00"},
            }
        ],
        "escalation_policies": [
            {
                "id": "platform",
                "levels": [{"notify": ["rotation:oncall"], "ack_within_minutes": 5}],
                "default": True,
            }
        ],
        "stakeholders": [
            {"id": "leadership", "kind": "leadership", "members": ["person-2"], "channels": ["email"]},
            {"id": "customers", "kind": "customers", "channels": ["status_page"]},
        ],
        "strategies": [
            {
                "id": f"site-{s}-to-home",
                "name": f"Move site {s} to home working",
                "when": {"site_down": f"site-{s}"},
                "relocate": {"from": f"site-{s}", "to": "home"},
            }
            for s in range(n_sites)
        ],
        "impact_tolerances": [
            {"queue": f"queue-{q}", "max_outage_minutes": 240} for q in range(n_queues) if rng.random() < 0.9
        ],
        "drills": {
            "every_months": 6,
            "history": [{"date": "2026-05-01", "kind": "site-loss", "outcome": "passed"}],
        },
    }


def _json_ready(value: Any) -> Any:
    """Dates as ISO text, as an editor's JSON view of the YAML has them."""
    return json.loads(json.dumps(value, default=str))


def _timed(runs: int, step: Callable[[], Any], progress: Progress, label: str) -> tuple[list[float], Any]:
    task = progress.add_task(label, total=runs)
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = step()
        times.append(time.perf_counter() - start)
        progress.advance(task)
    return times, result


def main() -> None:
    """Generate, write, load and audit a large plan; print the times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=5000, help="components in the plan")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the generator")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each step")
    parser.add_argument("--quick", action="store_true", help="one timed run of each step")
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object on stdout")
    args = parser.parse_args()
    if args.quick:
        args.repeat = 1
    if args.repeat < 1 or args.components < 1:
        parser.error("--repeat and --components must be at least 1")
    # With --json, stdout carries the JSON object alone: the table goes to stderr.
    console = Console(stderr=args.json)
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with tempfile.TemporaryDirectory() as tmp, Progress(*columns, console=console) as progress:
        path = Path(tmp) / "plan.yaml"
        generate = progress.add_task("generate and write the plan", total=1)
        text = yaml.safe_dump(
            generate_plan(args.components, args.seed), sort_keys=False, default_flow_style=None
        )
        path.write_text(text, encoding="utf-8")
        progress.advance(generate)
        load_times, plan = _timed(args.repeat, lambda: load_plan_file(path), progress, "load and check")
        # The peers: what an editor's schema check does with the same file (values only, no
        # references, cycles or line-numbered errors), and PyYAML's own parse as the floor.
        validator = jsonschema.Draft202012Validator(plan_json_schema())
        peer_times, _ = _timed(
            args.repeat,
            lambda: validator.validate(_json_ready(yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader))),
            progress,
            "peer: PyYAML + jsonschema",
        )
        parse_times, _ = _timed(
            args.repeat,
            lambda: yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader),
            progress,
            "floor: PyYAML parse alone",
        )
        topo_times, topology = _timed(
            args.repeat,
            lambda: Topology.from_plan(plan).single_points_of_failure(),
            progress,
            "topology and single points of failure",
        )
        audit_times, findings = _timed(
            args.repeat, lambda: audit(plan, today=TODAY), progress, "audit (topology and findings)"
        )
        size = path.stat().st_size
    table = Table(title=f"Plan of {len(plan.components):,} components ({size / 1_048_576:.1f} MB of YAML)")
    table.add_column("step")
    table.add_column("median s", justify="right")
    table.add_column("min s", justify="right")
    for label, times in (
        ("load_plan_file (standby check)", load_times),
        ("peer: PyYAML + jsonschema (values only)", peer_times),
        ("floor: PyYAML CSafeLoader parse alone", parse_times),
        ("topology + single points of failure", topo_times),
        ("audit (topology and every check)", audit_times),
    ):
        table.add_row(label, f"{statistics.median(times):.3f}", f"{min(times):.3f}")
    console.print(table)
    ratio = statistics.median(load_times) / statistics.median(peer_times)
    console.print(
        f"standby check / (PyYAML + jsonschema): {ratio:.2f}x the time, for line-numbered errors,"
        " references, cycles and relocations on top of the value checks"
    )
    counts = count_by_severity(findings)
    console.print(
        f"{len(plan.sites)} sites, {len(plan.queues)} queues, {len(plan.teams)} teams;"
        f" {len(topology)} single points of failure; findings: {counts}"
    )
    if args.json:
        check_s, audit_s = statistics.median(load_times), statistics.median(audit_times)
        print_json([
            figure("standby check / (PyYAML + jsonschema)", ratio, 1.0, "x", "lower"),
            figure(f"check + audit, {len(plan.components):,} components", check_s + audit_s, 10.0, "s",
                   "lower"),
        ], check_s=check_s, audit_s=audit_s, peer_s=statistics.median(peer_times))


if __name__ == "__main__":
    main()
