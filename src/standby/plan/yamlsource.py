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
from collections.abc import Hashable, Iterator
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


def read_yaml(content: str | bytes, *, positions: bool = True) -> Located:
    """Parse one YAML document into plain values with positions; YamlProblem if it cannot.

    Without `positions` the values are read alone (every YamlProblem still has its place):
    on a large valid plan the positions are a third of the memory, and only problems need them.
    """
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
    located = Located(data=None)
    try:
        if not positions or "&" not in text:
            # Built from the parser's events as they come, never holding the node tree,
            # which is several times the size of the values. (With positions, a document
            # with anchors takes the tree, which places each alias's values where it is used.)
            located.data = _EventReader(located, positions).read(yaml.parse(text, Loader=_Loader))
            return located
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
    located.data = _Builder(located, node, positions=positions).build(node, (), 0)
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

    def __init__(self, located: Located, root: yaml.Node, *, positions: bool = True) -> None:
        self.located = located
        self.root = root
        self.count = 0
        self.built: set[int] = set()
        self.measured = False
        self.positions = positions

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
        if self.positions:
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
                first = next(
                    _mark(k)
                    for k, _ in node.value
                    if isinstance(k, yaml.ScalarNode) and _key_name(self._scalar(k)) == name
                )
                raise YamlProblem(
                    PlanProblem(
                        line,
                        column,
                        f"duplicate key {name!r}: it is already given at line {first[0]}",
                    )
                )
            if self.positions:
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


def _key_name(key: Hashable) -> str:
    return key if isinstance(key, str) else str(key)


def _event_mark(event: yaml.Event) -> tuple[int, int]:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


class _EventReader:
    """Builds values straight from the parser's events, for documents without anchors.

    The same values, positions and refusals as `_Builder` (which reads the node tree of
    a document with anchors), without ever holding the tree.
    """

    def __init__(self, located: Located, positions: bool) -> None:
        self.located = located
        self.positions = positions
        self.count = 0
        # Each anchor's value, how many values it holds, and where it was written. An alias
        # counts its anchor's size again, so a billion laughs is refused, never expanded.
        self.anchors: dict[str, tuple[Any, int, tuple[int, int]]] = {}

    def read(self, events: Iterator[yaml.Event]) -> Any:
        """The one document of the stream, as values."""
        value: Any = None
        documents = 0
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise YamlProblem(
                        PlanProblem(*_event_mark(event), "broken YAML: but found another document")
                    )
                value = self._value(next(events), events, (), 0)
        if documents == 0:
            raise YamlProblem(PlanProblem(1, 1, "the plan is empty"))
        return value

    @staticmethod
    def _tag(event: yaml.NodeEvent, kind: type[yaml.Node], value: str | None) -> str:
        tag = getattr(event, "tag", None)
        if tag is None or tag == "!":
            implicit = getattr(event, "implicit", None)
            return str(_SCALARS.resolve(kind, value, implicit))  # type: ignore[no-untyped-call]
        return str(tag)

    def _value(self, event: yaml.Event, events: Iterator[yaml.Event], path: Path, depth: int) -> Any:
        self.count += 1
        where = _event_mark(event)
        if self.count > MAX_VALUES:
            raise YamlProblem(
                PlanProblem(
                    *where,
                    f"the plan expands to more than {MAX_VALUES:,} values"
                    " (anchors and aliases repeated without end?)",
                )
            )
        if depth > MAX_DEPTH:
            raise YamlProblem(PlanProblem(*where, f"values nested more than {MAX_DEPTH} deep"))
        if self.positions:
            self.located.values.setdefault(path, where)
        if isinstance(event, yaml.AliasEvent):
            found = self.anchors.get(str(event.anchor))
            if found is None:
                raise YamlProblem(PlanProblem(*where, "broken YAML: found undefined alias"))
            value, size, written = found
            self.count += size - 1
            if self.count > MAX_VALUES:
                raise YamlProblem(
                    PlanProblem(
                        *written,
                        f"the plan expands to more than {MAX_VALUES:,} values"
                        " (anchors and aliases repeated without end?)",
                    )
                )
            return value
        anchor = getattr(event, "anchor", None)
        if anchor is None:
            return self._unanchored(event, events, path, depth, where)
        if anchor in self.anchors:
            raise YamlProblem(PlanProblem(*where, "broken YAML: second occurrence"))
        before = self.count
        value = self._unanchored(event, events, path, depth, where)
        self.anchors[anchor] = (value, self.count - before + 1, where)
        return value

    def _unanchored(
        self, event: yaml.Event, events: Iterator[yaml.Event], path: Path, depth: int, where: tuple[int, int]
    ) -> Any:
        if isinstance(event, yaml.ScalarEvent):
            # Positions come from the event; the constructors read only tag, value and style.
            node = yaml.ScalarNode(
                self._tag(event, yaml.ScalarNode, event.value), event.value, style=event.style
            )
            if node.tag not in _KNOWN_TAGS:
                raise YamlProblem(
                    PlanProblem(*where, f"unsupported YAML tag {node.tag!r}: a plan holds plain data")
                )
            return _Builder._scalar(node)
        if isinstance(event, yaml.SequenceStartEvent):
            self._known(self._tag(event, yaml.SequenceNode, None), where)
            items: list[Any] = []
            for item in events:
                if isinstance(item, yaml.SequenceEndEvent):
                    return items
                items.append(self._value(item, events, (*path, len(items)), depth + 1))
        if isinstance(event, yaml.MappingStartEvent):
            self._known(self._tag(event, yaml.MappingNode, None), where)
            return self._mapping(events, path, depth)
        raise YamlProblem(PlanProblem(*where, "unsupported YAML node"))  # pragma: no cover

    @staticmethod
    def _known(tag: str, where: tuple[int, int]) -> None:
        if tag not in _KNOWN_TAGS:
            raise YamlProblem(PlanProblem(*where, f"unsupported YAML tag {tag!r}: a plan holds plain data"))

    def _mapping(self, events: Iterator[yaml.Event], path: Path, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        keys: dict[str, tuple[int, int]] = {}
        for key_event in events:
            if isinstance(key_event, yaml.MappingEndEvent):
                break
            where = _event_mark(key_event)
            if isinstance(key_event, yaml.AliasEvent) and str(key_event.anchor) in self.anchors:
                key: Any = self.anchors[str(key_event.anchor)][0]
                if not isinstance(key, str | int | float | bool):
                    raise YamlProblem(PlanProblem(*where, "a key must be plain text, not a list or mapping"))
                self._keep(_key_name(key), where, keys, result, path, events, depth)
                continue
            if not isinstance(key_event, yaml.ScalarEvent):
                raise YamlProblem(PlanProblem(*where, "a key must be plain text, not a list or mapping"))
            tag = self._tag(key_event, yaml.ScalarNode, key_event.value)
            if tag == _MERGE:
                # `<<: {...}` merges: keys written here win over merged ones.
                value_event = next(events)
                if isinstance(value_event, yaml.SequenceStartEvent):
                    sources = []
                    for item in events:
                        if isinstance(item, yaml.SequenceEndEvent):
                            break
                        sources.append((self._value(item, events, path, depth + 1), item))
                else:
                    sources = [(self._value(value_event, events, path, depth + 1), value_event)]
                for source, written in sources:
                    if not isinstance(source, dict):
                        raise YamlProblem(PlanProblem(*_event_mark(written), "'<<' must merge a mapping"))
                    for k, v in source.items():
                        merged.setdefault(k, v)
                continue
            key = _Builder._scalar(yaml.ScalarNode(tag, key_event.value, style=key_event.style))
            if not isinstance(key, str | int | float | bool) or key is None:
                raise YamlProblem(PlanProblem(*where, "a key must be plain text, not a list or mapping"))
            self._keep(_key_name(key), where, keys, result, path, events, depth)
        for k, v in merged.items():
            result.setdefault(k, v)
        return result

    def _keep(
        self,
        name: str,
        where: tuple[int, int],
        keys: dict[str, tuple[int, int]],
        result: dict[str, Any],
        path: Path,
        events: Iterator[yaml.Event],
        depth: int,
    ) -> None:
        """Read the value of key `name` into `result`, refusing a key given twice."""
        if name in keys:
            first = keys[name][0]
            raise YamlProblem(
                PlanProblem(*where, f"duplicate key {name!r}: it is already given at line {first}")
            )
        keys[name] = where
        if self.positions:
            self.located.keys[(*path, name)] = where
        result[name] = self._value(next(events), events, (*path, name), depth + 1)
