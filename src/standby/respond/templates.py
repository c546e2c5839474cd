"""Message templates: one per audience, phase and channel, shipped as defaults, overridable.

Templates are Jinja2 files named `AUDIENCE.PHASE.CHANNEL.j2`:

- AUDIENCE: a stakeholder kind (`leadership`, `regulator`, `first_responders`,
  `customers`, `vendors`, `employees`), or `reminder` (to the communications lead);
- PHASE: `detected`, `update`, `resolved` (a reminder's phase is `update`);
- CHANNEL: `email`, `sms`, `status_page`, `ivr_message`.

For a message Standby looks for `AUDIENCE.PHASE.CHANNEL.j2`, then
`any.PHASE.CHANNEL.j2`, first in `STANDBY_DATA_DIR/templates/` (your overrides),
then among the defaults shipped in `standby/respond/templates/`. An email template's
first line is `Subject: ...`; the rest is the body. An SMS renders to at most
`MAX_SMS` characters.

Templates run in Jinja2's sandbox with `StrictUndefined`: a name a template uses
that does not exist is an error (`TemplateProblem`, with the file and line), not an
empty gap in a message to the regulator. The variables are listed in `VARIABLES`
and in docs/operations.md, "Messages and templates".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from zoneinfo import ZoneInfo

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from standby.errors import StandbyError
from standby.plan.schema import Plan
from standby.respond.communication import OutageFacts, vendor_components

TemplateChannel = Literal["email", "sms", "status_page", "ivr_message"]
AUDIENCES = ("leadership", "regulator", "first_responders", "customers", "vendors", "employees")
PHASES = ("detected", "update", "resolved")
CHANNELS: tuple[TemplateChannel, ...] = ("email", "sms", "status_page", "ivr_message")
OVERRIDE_DIR = "templates"
"""The folder of STANDBY_DATA_DIR that holds overrides."""
MAX_SMS = 320
MAX_IVR = 600
MAX_SUBJECT = 200

VARIABLES: dict[str, str] = {
    "organisation.name": "the contact centre's name",
    "organisation.timezone": "its time zone; times below are local to it",
    "outage.id": "the outage's number",
    "outage.summary": "one line: what is down and what it hits",
    "outage.classification": "total, partial, degraded (interruption once over within the hold)",
    "outage.classification_text": "the same in words: 'a total outage', 'a partial outage', ...",
    "outage.causes": "names of the components that failed (the probable causes)",
    "outage.affected": "names of the other components unavailable because of them",
    "outage.components": "names of every component unavailable",
    "outage.queues": "names of the queues lost",
    "outage.degraded_queues": "names of the queues slowed down",
    "outage.sites": "names of the sites lost",
    "outage.started_at": "local time it started, such as '10:02 BST'",
    "outage.started_on": "local date it started, such as 'Monday 15 June 2026'",
    "outage.ended_at": "local time it ended, or none while it lasts",
    "outage.ended": "true once it has ended",
    "outage.duration": "how long it has lasted (or lasted), such as '1 hour 5 minutes'",
    "next_update_at": "local time of the next update to this group, or none",
    "incident.id": "the incident's number",
    "incident.link": "STANDBY_PUBLIC_URL/incidents/ID (people with a login only)",
    "group.id": "the stakeholder group's id",
    "group.kind": "its kind (leadership, regulator, ...)",
    "phase": "detected, update or resolved",
    "update_number": "1, 2, ... for updates; 0 otherwise",
    "vendor": "vendors group: .id, .name, .components (their components' names), .support_phone,"
    " .support_email; none for other groups",
    "now": "local time the message is written",
    "due": "reminders: .group, .kind, .update_number, .at (local time), .overdue",
}
"""Every variable a template may use, with what it holds."""


class TemplateProblem(StandbyError):
    """A template that cannot be used: missing, bad syntax, an unknown name, too long."""

    def __init__(self, message: str, *, template: str | None = None, line: int | None = None) -> None:
        """Say what is wrong and, when known, in which file and on which line."""
        self.template = template
        self.line = line
        self.problem = message
        where = ""
        if template:
            where = f"{template}:{line}: " if line else f"{template}: "
        super().__init__(where + message)


@dataclass(frozen=True)
class Rendered:
    """A rendered message: its subject (email only), body, and the file it came from."""

    body: str
    subject: str | None
    template: str
    overridden: bool


def template_names(audience: str, phase: str, channel: str) -> tuple[str, str]:
    """The file names looked up for a message, in order."""
    return (f"{audience}.{phase}.{channel}.j2", f"any.{phase}.{channel}.j2")


def default_dir() -> Path:
    """Where the default templates are shipped."""
    return Path(str(resources.files("standby.respond").joinpath("templates")))


class _WatchedLoader(jinja2.FileSystemLoader):
    """Files from the search path; a compiled template is stale once its file changes (time or
    size) or a file of the same name appears earlier in the path (a new override)."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        """The template's text and file, and whether what was compiled from them still holds."""
        source, filename, _ = super().get_source(environment, template)
        path = Path(filename)
        seen = _stamp(path)
        shadows = []
        for folder in self.searchpath:
            if path.is_relative_to(folder):
                break
            shadows.append(Path(folder) / template)

        def uptodate() -> bool:
            return _stamp(path) == seen and not any(p.is_file() for p in shadows)

        return source, filename, uptodate


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_mtime_ns, found.st_size


class Templates:
    """The template set: overrides in a folder (optional) over the shipped defaults."""

    def __init__(self, overrides: Path | None = None) -> None:
        """Use the overrides in `overrides` (STANDBY_DATA_DIR/templates) when given and present."""
        self.overrides = overrides
        self.defaults = default_dir()
        searchpath = [str(p) for p in (overrides, self.defaults) if p is not None]
        # Compiled templates are kept while their file is unchanged and no override shadows
        # it (`_WatchedLoader`): an override added or edited while Standby runs is used from
        # the next message on, and the room's drafted updates do not compile on every view.
        self.environment = SandboxedEnvironment(
            cache_size=200,
            auto_reload=True,
            loader=_WatchedLoader(searchpath),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.environment.filters["listing"] = listing

    def render(self, audience: str, phase: str, channel: str, variables: Mapping[str, Any]) -> Rendered:
        """Render the message for an audience, phase and channel; TemplateProblem when it cannot."""
        names = template_names(audience, phase, channel)
        try:
            template = self.environment.select_template(list(names))
        except jinja2.TemplatesNotFound:
            raise TemplateProblem(
                f"no template for {audience} {phase} by {channel}: write {names[0]} (or {names[1]})"
                " in STANDBY_DATA_DIR/templates"
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateProblem(
                f"syntax error: {exc.message}", template=self._shown(exc.filename, exc.name), line=exc.lineno
            ) from None
        shown = self._shown(template.filename, template.name)
        try:
            text = template.render(**variables)
        except jinja2.UndefinedError as exc:
            raise TemplateProblem(
                f"{exc.message or exc}: the variables are listed in docs/operations.md,"
                " 'Messages and templates'",
                template=shown,
                line=_line_in(exc.__traceback__, template.filename),
            ) from None
        except Exception as exc:  # the sandbox's SecurityError, a filter given the wrong thing, ...
            line = _line_in(exc.__traceback__, template.filename)
            raise TemplateProblem(f"{type(exc).__name__}: {exc}", template=shown, line=line) from None
        overridden = (
            self.overrides is not None
            and template.filename is not None
            and Path(template.filename).is_relative_to(self.overrides)
        )
        subject, body = _split(text, channel, shown)
        _check_length(body, channel, shown)
        return Rendered(body=body, subject=subject, template=shown, overridden=overridden)

    def check(self, variables: Mapping[str, Any]) -> list[TemplateProblem]:
        """Every problem of every template in use (defaults and overrides), rendered with `variables`."""
        problems: list[TemplateProblem] = []
        for audience, phase, channel in every_message():
            try:
                self.render(audience, phase, channel, variables)
            except TemplateProblem as problem:
                problems.append(problem)
        return problems

    def _shown(self, filename: str | None, name: str | None) -> str:
        if filename and self.overrides is not None and Path(filename).is_relative_to(self.overrides):
            return filename
        return f"default template {name}" if name else str(filename)


def every_message() -> list[tuple[str, str, TemplateChannel]]:
    """Each audience, phase and channel Standby renders messages for."""
    found: list[tuple[str, str, TemplateChannel]] = []
    for audience in AUDIENCES:
        for phase in PHASES:
            for channel in CHANNELS:
                if channel in ("status_page", "ivr_message") and audience == "vendors":
                    continue
                found.append((audience, phase, channel))
    found.extend(("reminder", "update", channel) for channel in ("email", "sms"))
    return found


@cache
def templates_for(data_dir: Path | None) -> Templates:
    """The template set of a data directory (its `templates/` folder over the defaults), cached."""
    return Templates(data_dir / OVERRIDE_DIR if data_dir is not None else None)


def render(
    kind: str,
    phase: str,
    channel: str,
    facts: Mapping[str, Any],
    *,
    data_dir: Path | None = None,
) -> Rendered:
    """Render one message with the variables in `facts` (see `message_variables`), using the
    overrides in `data_dir/templates` when given; TemplateProblem when it cannot."""
    return templates_for(data_dir).render(kind, phase, channel, facts)


def _line_in(trace: TracebackType | None, filename: str | None) -> int | None:
    line = None
    while trace is not None:
        if filename and trace.tb_frame.f_code.co_filename == filename:
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


def _split(text: str, channel: str, shown: str) -> tuple[str | None, str]:
    text = _tidy(text)
    if channel != "email":
        return None, text
    first, _, rest = text.partition("\n")
    if not first.lower().startswith("subject:"):
        raise TemplateProblem("an email template starts with a line 'Subject: ...'", template=shown, line=1)
    subject = " ".join(first[len("subject:") :].split())
    if not subject:
        raise TemplateProblem("the subject line renders empty", template=shown, line=1)
    if len(subject) > MAX_SUBJECT:
        subject = subject[: MAX_SUBJECT - 1] + "…"
    body = rest.strip("\n")
    if not body.strip():
        raise TemplateProblem("the email's body renders empty", template=shown)
    return subject, body


def _check_length(body: str, channel: str, shown: str) -> None:
    if not body.strip():
        raise TemplateProblem("the message renders empty", template=shown)
    limit = {"sms": MAX_SMS, "ivr_message": MAX_IVR}.get(channel)
    if limit is not None and len(body) > limit:
        raise TemplateProblem(
            f"renders {len(body)} characters; a message by {channel} may have at most {limit}"
            " (use the listing filter's limit to shorten lists)",
            template=shown,
        )


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    tidied = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return tidied


def listing(items: Iterable[Any], limit: int = 3, empty: str = "none") -> str:
    """Names as people write them: 'A', 'A and B', 'A, B and C', 'A, B, C and 2 more'.

    When a name has a comma in it ('SIP trunk, Carrier A'), names are parted by
    semicolons instead, so the list still reads as a list.
    """
    names = [str(i) for i in items]
    if not names:
        return empty
    sep, last = ("; ", "; and ") if any("," in n for n in names) else (", ", " and ")
    if len(names) > limit:
        return f"{sep.join(names[:limit])}{last}{len(names) - limit} more"
    if len(names) == 1:
        return names[0]
    return f"{sep.join(names[:-1])}{last}{names[-1]}"


def local_time(when: datetime, zone: ZoneInfo) -> str:
    """'10:02 BST': the time of day in the centre's zone, with the zone's abbreviation."""
    local = when.astimezone(zone)
    return f"{local:%H:%M} {local.tzname() or ''}".strip()


def local_date(when: datetime, zone: ZoneInfo) -> str:
    """'Monday 15 June 2026' in the centre's zone."""
    local = when.astimezone(zone)
    return f"{local:%A} {local.day} {local:%B %Y}"


def duration_text(span: timedelta) -> str:
    """'under a minute', '12 minutes', '1 hour 5 minutes', '2 days 3 hours'."""
    minutes = int(span.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)

    def unit(n: int, word: str) -> str:
        return f"{n} {word}{'s' if n != 1 else ''}"

    if days:
        return unit(days, "day") + (f" {unit(hours, 'hour')}" if hours else "")
    if hours:
        return unit(hours, "hour") + (f" {unit(minutes, 'minute')}" if minutes else "")
    return unit(minutes, "minute")


CLASSIFICATION_TEXT = {
    "total": "a total outage",
    "partial": "a partial outage",
    "degraded": "a service degradation",
    "interruption": "a short interruption",
}


def _names(ids: Sequence[str], table: Mapping[str, Any]) -> list[str]:
    return [table[i].name if i in table else i for i in ids]


def message_variables(
    plan: Plan,
    facts: OutageFacts,
    *,
    group_id: str,
    group_kind: str,
    phase: str,
    now: datetime,
    base_url: str,
    update_number: int = 0,
    next_update_at: datetime | None = None,
    vendor_id: str | None = None,
    due: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The variables a template sees (documented in `VARIABLES`), from the outage's facts."""
    zone = ZoneInfo(plan.organisation.timezone)
    components = plan.components_by_id
    vendor: dict[str, Any] | None = None
    if vendor_id is not None and vendor_id in plan.vendors_by_id:
        record = plan.vendors_by_id[vendor_id]
        vendor = {
            "id": record.id,
            "name": record.name,
            "components": _names(vendor_components(plan, facts, vendor_id), components),
            "support_phone": record.support.phone,
            "support_email": record.support.email,
        }
    ended_at = (facts.recovered_at or facts.ended_at) if facts.ended_at is not None else None
    end = ended_at or now
    causes = set(facts.causes)
    return {
        "organisation": {"name": plan.organisation.name, "timezone": plan.organisation.timezone},
        "outage": {
            "id": facts.outage_id,
            "summary": facts.summary,
            "classification": facts.classification,
            "classification_text": CLASSIFICATION_TEXT.get(facts.classification, facts.classification),
            "causes": _names(facts.causes, components),
            "affected": _names([c for c in facts.components if c not in causes], components),
            "components": _names(facts.components, components),
            "queues": _names(facts.queues, plan.queues_by_id),
            "degraded_queues": _names(facts.degraded_queues, plan.queues_by_id),
            "sites": _names(facts.sites, plan.sites_by_id),
            "started_at": local_time(facts.started_at, zone),
            "started_on": local_date(facts.started_at, zone),
            "ended_at": local_time(ended_at, zone) if ended_at else None,
            "ended": facts.ended_at is not None,
            "duration": duration_text(end - facts.started_at),
        },
        "next_update_at": local_time(next_update_at, zone) if next_update_at else None,
        "incident": {
            "id": facts.incident_id,
            "link": f"{base_url.rstrip('/')}/incidents/{facts.incident_id}",
        },
        "group": {"id": group_id, "kind": group_kind},
        "phase": phase,
        "update_number": update_number,
        "vendor": vendor,
        "now": local_time(now, zone),
        "due": dict(due) if due is not None else None,
    }
