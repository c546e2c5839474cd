"""Safe YAML reading that remembers where every key and value was written.

PyYAML composes the document into a node tree that carries line and column marks;
this module turns that tree into plain Python values itself, so that it can refuse
what a hostile or broken file would do to a naive loader: aliases that expand
without end, nesting deep enough to exhaust the stack, duplicate keys that would
silently overwrite each other, sizes that would take minutes to read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import yaml

from standby.errors import PlanProblem

try:  # The C composer is several times faster on large plans; fall back when libyaml is absent.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_BYTES = 5 * 1024 * 1024
MAX_VALUES = 1_000_000
MAX_DEPTH = 50

Path = tuple[str | int, ...]

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_KNOWN_TAGS = frozenset({_INT, _FLOAT, _BOOL, _NULL, _STR, _TIMESTAMP, _MAP, _SEQ})


@dataclass
class Located:
    """A YAML document as plain values, with the position of each value and each key."""

    data: Any
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Line and column of the value (or key) at path, or of its nearest written ancestor."""
        table = self.keys if key else self.values
        if path in table:
            return table[path]
        # A path pydantic reports may name a key that is absent (a missing field) or a union
        # tag that is not in the file; the nearest written ancestor is where to look.
        trimmed = path
        while trimmed:
            trimmed = trimmed[:-1]
            if trimmed in self.values:
                return self.values[trimmed]
        return (1, 1)


class YamlProblem(Exception):
    """The text is not a YAML document Standby can read; carries the problem and its position."""

    def __init__(self, problem: PlanProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlProblem(
            PlanProblem(line, column, "the plan is not UTF-8 text (is it a binary file?)")
        ) from None


def read_yaml(content: str | bytes) -> Located:
    """Parse one YAML document into plain values with positions; YamlProblem if it cannot."""
    size = len(content.encode("utf-8") if isinstance(content, str) else content)
    if size > MAX_BYTES:
        raise YamlProblem(
            PlanProblem(
                1,
                1,
                f"the plan is {size / 1_048_576:.1f} MB; a plan may be at most {MAX_BYTES // 1_048_576} MB",
            )
        )
    text = _decode(content) if isinstance(content, bytes) else content
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        raise YamlProblem(PlanProblem(line, column, "the plan contains NUL bytes: is it a binary file?"))
    _refuse_deep_flow_nesting(text)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = exc.problem or exc.context or "cannot be read"
        raise YamlProblem(PlanProblem(*where, f"broken YAML: {reason}")) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(PlanProblem(1, 1, f"broken YAML: {exc}")) from None
    except RecursionError:
        raise YamlProblem(PlanProblem(1, 1, "the plan is nested too deeply to be a plan")) from None
    if node is None:
        raise YamlProblem(PlanProblem(1, 1, "the plan is empty"))
    located = Located(data=None)
    builder = _Builder(located, node)
    located.data = builder.build(node, (), 0)
    return located


_FLOW_TOKENS = re.compile(r"""[\[\]{}]|"(?:[^"\\\n]|\\.)*"|'(?:[^'\n]|'')*'|(?:^|(?<=\s))#[^\n]*""", re.M)


def _refuse_deep_flow_nesting(text: str) -> None:
    """Refuse [[[[... before parsing: libyaml takes quadratic time on deep flow nesting."""
    depth = 0
    for token in _FLOW_TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                offset = token.start()
                line = text.count("\n", 0, offset) + 1
                column = offset - (text.rfind("\n", 0, offset) + 1) + 1
                raise YamlProblem(PlanProblem(line, column, f"values nested more than {MAX_DEPTH} deep"))
        elif char in "]}":
            depth = max(depth - 1, 0)


def _expanded_size(root: yaml.Node) -> int:
    """How many values the tree holds once aliases are expanded, counted without expanding them.

    Aliases share node objects, so sizes are memoised by identity: a billion laughs costs as
    much to measure as the few lines it is written in.
    """
    sizes: dict[int, int] = {}
    pending: list[tuple[yaml.Node, bool]] = [(root, False)]
    while pending:
        node, children_done = pending.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[id(node)] = 1
            continue
        children: list[yaml.Node] = (
            [part for pair in node.value for part in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
        )
        if children_done:
            sizes[id(node)] = min(1 + sum(sizes[id(child)] for child in children), MAX_VALUES + 1)
        else:
            pending.append((node, True))
            pending.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


class _Builder:
    """Turns a composed node tree into values, counting them so aliases cannot explode."""

    def __init__(self, located: Located, root: yaml.Node) -> None:
        self.located = located
        self.root = root
        self.count = 0
        self.built: set[int] = set()
        self.measured = False

    def _measure_once(self, node: yaml.Node) -> None:
        # A node met twice is an alias: measure the whole document once, cheaply, before
        # expanding anything, so an alias bomb is refused at once rather than after a million values.
        if self.measured:
            return
        self.measured = True
        if _expanded_size(self.root) > MAX_VALUES:
            raise YamlProblem(
                PlanProblem(
                    *_mark(node),
                    f"the plan expands to more than {MAX_VALUES:,} values"
                    " (anchors and aliases repeated without end?)",
                )
            )

    def build(self, node: yaml.Node, path: Path, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise YamlProblem(
                PlanProblem(
                    *_mark(node),
                    f"the plan expands to more than {MAX_VALUES:,} values"
                    " (anchors and aliases repeated without end?)",
                )
            )
        if depth > MAX_DEPTH:
            raise YamlProblem(PlanProblem(*_mark(node), f"values nested more than {MAX_DEPTH} deep"))
        self.located.values.setdefault(path, _mark(node))
        if node.tag not in _KNOWN_TAGS:
            raise YamlProblem(
                PlanProblem(*_mark(node), f"unsupported YAML tag {node.tag!r}: a plan holds plain data")
            )
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if id(node) in self.built:
            self._measure_once(node)
        self.built.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, index), depth + 1) for index, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        raise YamlProblem(PlanProblem(*_mark(node), "unsupported YAML node"))  # pragma: no cover

    def _mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                # `<<: *defaults` merges: keys written here win over merged ones.
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    value = self.build(source, path, depth + 1)
                    if not isinstance(value, dict):
                        raise YamlProblem(PlanProblem(*_mark(source), "'<<' must merge a mapping"))
                    for k, v in value.items():
                        merged.setdefault(k, v)
                continue
            key = self._scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str | int | float | bool) or key is None:
                raise YamlProblem(
                    PlanProblem(*_mark(key_node), "a key must be plain text, not a list or mapping")
                )
            name = str(key) if not isinstance(key, str) else key
            if name in result:
                line, column = _mark(key_node)
                first = self.located.keys[(*path, name)]
                raise YamlProblem(
                    PlanProblem(
                        line,
                        column,
                        f"duplicate key {name!r}: it is already given at line {first[0]}",
                    )
                )
            self.located.keys[(*path, name)] = _mark(key_node)
            result[name] = self.build(value_node, (*path, name), depth + 1)
        for k, v in merged.items():
            result.setdefault(k, v)
        return result

    @staticmethod
    def _scalar(node: yaml.ScalarNode) -> Hashable:
        text: str = node.value
        tag = node.tag
        if node.style in ("'", '"') or tag == _STR:
            return text
        constructor = yaml.SafeLoader.yaml_constructors
        try:
            if tag == _INT:
                # YAML 1.1 reads 10:00 as the base-60 number 600; in a plan it is a time of day.
                if ":" in text:
                    return text
                return int(constructor[_INT](_SCALARS, node))
            if tag == _FLOAT:
                if ":" in text:
                    return text
                return float(constructor[_FLOAT](_SCALARS, node))
            if tag == _BOOL:
                return bool(constructor[_BOOL](_SCALARS, node))
            if tag == _NULL:
                return None
            if tag == _TIMESTAMP:
                value = constructor[_TIMESTAMP](_SCALARS, node)
                return value if isinstance(value, dt.date) else text
        except (ValueError, OverflowError):
            # An impossible date such as 2026-13-45: keep the text so validation names it.
            return text
        return text


_SCALARS = yaml.SafeLoader("")
