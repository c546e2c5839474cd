"""Loading a plan: YAML with positions, each record validated, then the whole-plan rules.

Every problem found is reported at once, each at the line and column of the
offending value, in words a plan author understands. Reading files is the edge's
job; `load_plan_file` is the one convenience that does it, for the CLI and server.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from standby.errors import PlanInvalid, PlanProblem
from standby.plan.rules import Records, check_rules, suggest
from standby.plan.schema import LIST_SECTIONS, SINGLE_SECTIONS, Plan, Section
from standby.plan.shipped import reference_plan_text as reference_plan_text  # where callers look for it
from standby.plan.yamlsource import MAX_BYTES, Located, YamlProblem, read_yaml

SECTIONS = ["organisation", *LIST_SECTIONS, "drills", "status_page", "readiness"]

_PATTERN_HINTS = {
    "target": "the form the probe type expects (a URL for http, host:port for tcp, sip:... for SIP)",
    "currency": "a three-letter ISO currency code such as 'GBP'",
    "resolver": "host or host:port",
    "webhook": "an http:// or https:// URL",
}


def plan_json_schema() -> dict[str, Any]:
    """The plan's JSON Schema (draft 2020-12), for editors that check YAML while it is typed."""
    schema = Plan.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Standby continuity plan"
    return schema


def load_plan_file(path: Path) -> Plan:
    """Read and validate a plan file; PlanInvalid with every problem if it cannot be used."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            # Refuse before reading: a huge file is a mistake, not a plan.
            raise PlanInvalid(
                [
                    PlanProblem(
                        1,
                        1,
                        f"the plan is {size / 1_048_576:.1f} MB; a plan may be at most"
                        f" {MAX_BYTES // 1_048_576} MB",
                    )
                ]
            )
        content = path.read_bytes()
    except IsADirectoryError:
        raise PlanInvalid([PlanProblem(1, 1, "this is a directory, not a plan file")]) from None
    except OSError as exc:
        raise PlanInvalid([PlanProblem(1, 1, f"cannot read the plan: {exc.strerror}")]) from None
    return load_plan_text(content)


def load_plan_text(content: str | bytes) -> Plan:
    """Validate a plan given as YAML text; PlanInvalid with every problem if it cannot be used."""
    try:
        located = read_yaml(content, positions=False)
    except YamlProblem as exc:
        raise PlanInvalid([exc.problem]) from None
    problems, sections = _examine(located)
    if problems:
        # Read again with every position, only now that there are problems to place.
        problems, _ = _examine(read_yaml(content))
        raise PlanInvalid(problems)
    # Every section validated on its own already; building the plan from them saves a second pass.
    return Plan.model_construct(**sections)


def check_located(located: Located) -> list[PlanProblem]:
    """Every problem of a parsed plan: structure, values, then references and cycles."""
    return _examine(located)[0]


def _examine(located: Located) -> tuple[list[PlanProblem], dict[str, Any]]:
    data = located.data
    if not isinstance(data, dict):
        shape = "a plan is a mapping of sections such as 'organisation:' and 'queues:'"
        return [PlanProblem(1, 1, shape)], {}
    problems: list[PlanProblem] = []
    sections: dict[str, Any] = {}
    for key in data:
        if key not in SECTIONS:
            problems.append(
                PlanProblem(
                    *located.position((key,), key=True),
                    f"unknown section {key!r}{suggest(key, SECTIONS)}",
                )
            )
    if "organisation" not in data:
        problems.append(PlanProblem(1, 1, "missing required section 'organisation'"))
    records = Records()
    for section, model in SINGLE_SECTIONS.items():
        if section in data:
            sections[section] = _validate(model, data[section], (section,), located, problems)
            records.single[section] = sections[section]
    for section, model in LIST_SECTIONS.items():
        if section not in data or data[section] is None:
            continue
        items = data[section]
        if not isinstance(items, list):
            problems.append(
                PlanProblem(*located.position((section,)), f"{section!r} must be a list of records")
            )
            continue
        valid: list[tuple[int, Section]] = []
        seen: set[str] = set()
        for index, item in enumerate(items):
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                seen.add(item["id"])
            record = _validate(model, item, (section, index), located, problems)
            if record is not None:
                valid.append((index, record))
        records.items[section] = valid
        records.ids_seen[section] = seen
        sections[section] = [record for _, record in valid]
    for problem in check_rules(records):
        message = problem.message
        if problem.see is not None:
            message += f" (line {located.position(problem.see)[0]})"
        problems.append(PlanProblem(*located.position(problem.path), message))
    return sorted(set(problems)), sections


def _validate(
    model: type[Section],
    raw: Any,
    prefix: tuple[str | int, ...],
    located: Located,
    problems: list[PlanProblem],
) -> Section | None:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        for error in errors:
            problems.append(_describe(error, prefix, located))
    if not isinstance(raw, dict):
        return None
    broken = {error["loc"][0] for error in errors if error["loc"]}
    return _salvage(model, raw, broken)


def _salvage(model: type[Section], raw: dict[str, Any], broken: set[str | int]) -> Section:
    """The record's fields that are valid on their own, so the whole-plan rules can still run.

    A field that is broken or missing is None: the rules skip what is None, and the field
    already has its own problem reported.
    """
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        value: Any = None
        if key in raw and key not in broken:
            try:
                value = _field_adapter(model, name).validate_python(raw[key])
            except ValidationError:
                value = None
        elif key not in raw and not info.is_required():
            value = info.get_default(call_default_factory=True)
        fields[name] = value
    return model.model_construct(**fields)


@functools.cache
def _field_adapter(model: type[Section], name: str) -> TypeAdapter[Any]:
    info = model.model_fields[name]
    annotation: Any = info.annotation
    if info.metadata:
        annotation = Annotated[(annotation, *info.metadata)]
    return TypeAdapter(annotation)


def _raw_path(located: Located, loc: tuple[str | int, ...]) -> tuple[tuple[str | int, ...], bool]:
    """Pydantic's location as a path into the YAML, dropping union tags; and whether it all exists."""
    node = located.data
    path: list[str | int] = []
    complete = True
    for part in loc:
        in_mapping = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_mapping or in_list:
            node = node[part]
            path.append(part)
        elif isinstance(part, str) and part in _UNION_TAGS:
            continue
        else:
            complete = False
            path.append(part)
    return tuple(path), complete


_UNION_TAGS = {"component-id", "any-of-group", "http", "tcp", "dns", "sip_options", "heartbeat", "metric"}


def _describe(error: ErrorDetails, prefix: tuple[str | int, ...], located: Located) -> PlanProblem:
    loc = (*prefix, *error["loc"])
    path, _ = _raw_path(located, loc)
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx", {})
    field = next((p for p in reversed(path) if isinstance(p, str) and p not in _UNION_TAGS), "value")
    if kind == "extra_forbidden":
        key = str(path[-1])
        parent = located.data
        for part in path[:-1]:
            parent = parent[part]
        allowed = _keys_of_model_for(parent, key)
        return PlanProblem(*located.position(path, key=True), f"unknown key {key!r}{suggest(key, allowed)}")
    position = located.position(path)
    if kind == "missing":
        return PlanProblem(*located.position(path[:-1]), f"missing required key {field!r}")
    if kind in ("value_error", "assertion_error"):
        message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        return PlanProblem(*position, message)
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return PlanProblem(
            *position,
            f"{field}: {value!r} is not one of {', '.join(options)}{suggest(str(value), options)}",
        )
    if kind == "union_tag_invalid":
        tags = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        tag = str(ctx.get("tag", value))
        return PlanProblem(
            *located.position((*path, "type")),
            f"unknown probe type {tag!r}; the types are {', '.join(tags)}{suggest(tag, tags)}",
        )
    if kind == "union_tag_not_found":
        return PlanProblem(
            *position, "a probe needs a 'type': http, tcp, dns, sip_options, heartbeat or metric"
        )
    if kind == "string_pattern_mismatch":
        hint = _PATTERN_HINTS.get(field, "the expected form")
        return PlanProblem(*position, f"{field}: {value!r} is not {hint}")
    return PlanProblem(*position, f"{field}: {_plain_message(kind, value, ctx, str(error['msg']))}")


def _plain_message(kind: str, value: Any, ctx: dict[str, Any], fallback: str) -> str:
    got = f", got {value!r}"
    bounds = {
        "greater_than": f"must be greater than {ctx.get('gt')}",
        "greater_than_equal": f"must be at least {ctx.get('ge')}",
        "less_than": f"must be less than {ctx.get('lt')}",
        "less_than_equal": f"must be at most {ctx.get('le')}",
    }
    if kind in bounds:
        return bounds[kind] + got
    kinds = {
        "string_type": "expected text",
        "int_type": "expected a whole number",
        "int_parsing": "expected a whole number",
        "int_from_float": "expected a whole number",
        "float_type": "expected a number",
        "float_parsing": "expected a number",
        "bool_type": "expected true or false",
        "bool_parsing": "expected true or false",
        "list_type": "expected a list",
        "dict_type": "expected a mapping of keys and values",
        "model_type": "expected a mapping of keys and values",
        "model_attributes_type": "expected a mapping of keys and values",
    }
    if kind in kinds:
        return kinds[kind] + (got if not isinstance(value, dict | list) else "")
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    if kind == "string_too_short":
        return "must not be empty"
    return fallback[:1].lower() + fallback[1:]


def _all_models() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    pending: list[type[BaseModel]] = [Section]
    while pending:
        model = pending.pop()
        found.append(model)
        pending.extend(model.__subclasses__())
    return found


def _aliases(model: type[BaseModel]) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()}


def _keys_of_model_for(mapping: Any, unknown: str) -> set[str]:
    """The keys allowed where `unknown` was written, found by the model that best fits its siblings."""
    siblings = set(mapping) - {unknown} if isinstance(mapping, dict) else set()
    best: set[str] = set()
    best_score = -1
    for model in _all_models():
        keys = _aliases(model)
        if not keys:
            continue
        score = len(siblings & keys) - len(siblings - keys)
        if score > best_score:
            best, best_score = set(keys), score
        elif score == best_score:
            best |= keys
    return best
