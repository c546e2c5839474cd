"""Message templates: the defaults, overrides, and templates that do not render."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from _plans import reference_plan

from standby.config import Settings
from standby.respond.communication import OutageFacts
from standby.respond.communication_service import check_templates
from standby.respond.templates import (
    MAX_SMS,
    VARIABLES,
    TemplateProblem,
    Templates,
    default_dir,
    duration_text,
    every_message,
    listing,
    message_variables,
    render,
)

T0 = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)  # 10:30 in London
PLAN = reference_plan()
FACTS = OutageFacts(
    incident_id=7,
    outage_id=3,
    summary="Total: SIP trunk, Carrier A, SIP trunk, Carrier B down",
    classification="total",
    peak_classification="total",
    causes=("trunk-a", "trunk-b"),
    components=("trunk-a", "trunk-b", "sbc", "acd", "ivr"),
    sites=(),
    queues=("emergency", "billing", "moving"),
    degraded_queues=(),
    started_at=T0,
    detected_at=T0 + timedelta(seconds=30),
)


def variables(audience: str, phase: str, facts: OutageFacts = FACTS, **extra: Any) -> dict[str, Any]:
    ended = replace(facts, ended_at=T0 + timedelta(minutes=65)) if phase == "resolved" else facts
    return message_variables(
        PLAN,
        ended,
        group_id="suppliers" if audience == "vendors" else audience,
        group_kind=audience,
        phase=phase,
        now=T0 + timedelta(minutes=36),
        base_url="https://standby.example.org/",
        update_number=1 if phase == "update" else 0,
        next_update_at=None if phase == "resolved" else T0 + timedelta(minutes=66),
        vendor_id="carrier-a" if audience == "vendors" else None,
        due={
            "group": "leadership",
            "kind": "leadership",
            "update_number": 2,
            "at": "11:06 BST",
            "overdue": False,
        },
        **extra,
    )


@pytest.mark.parametrize(("audience", "phase", "channel"), every_message())
def test_every_default_renders_with_the_reference_plan(audience: str, phase: str, channel: str) -> None:
    rendered = Templates().render(audience, phase, channel, variables(audience, phase))
    assert rendered.body.strip() and not rendered.overridden
    assert rendered.template.startswith("default template ")
    if channel == "email":
        assert rendered.subject
    else:
        assert rendered.subject is None
    if channel == "sms":
        assert len(rendered.body) <= MAX_SMS
    if audience in ("regulator", "vendors", "customers") or channel in ("status_page", "ivr_message"):
        # Outsiders and the public get no link into the command centre.
        assert "standby.example.org" not in rendered.body
    internal = audience not in ("vendors", "customers", "reminder")
    if phase != "resolved" and channel in ("email", "sms") and internal:
        assert "11:36 BST" in rendered.body  # the next update, local time


def test_the_messages_say_what_is_down_since_when_and_the_next_update() -> None:
    email = Templates().render("leadership", "detected", "email", variables("leadership", "detected"))
    assert email.subject == (
        "A total outage at Northwind Energy Customer Care since 10:30 BST:"
        " SIP trunk, Carrier A; and SIP trunk, Carrier B down"
    )
    lost = "Customers cannot reach: Gas emergency line, Billing and payments and Moving home (sales)."
    assert lost in email.body
    assert "Next update by 11:36 BST." in email.body
    assert "Incident 7: https://standby.example.org/incidents/7" in email.body
    regulator = Templates().render("regulator", "resolved", "email", variables("regulator", "resolved"))
    assert "lasted 1 hour 5 minutes: from 10:30 BST to 11:35 BST on Monday 15 June 2026" in regulator.body
    vendor = Templates().render("vendors", "detected", "email", variables("vendors", "detected"))
    assert vendor.body.startswith("Hello Carrier A (SIP trunks) support,")
    assert "failure of SIP trunk, Carrier A, which you supply" in vendor.body


def test_an_sms_stays_short_however_large_the_outage() -> None:
    everything = replace(
        FACTS,
        causes=tuple(c.id for c in PLAN.components),
        components=tuple(c.id for c in PLAN.components),
        sites=("leeds", "home", "harbour"),
        degraded_queues=("emergency",),
    )
    for audience, phase, channel in every_message():
        if channel == "sms":
            body = Templates().render(audience, phase, channel, variables(audience, phase, everything)).body
            assert len(body) <= MAX_SMS, (audience, phase, body)


def test_an_override_in_the_data_directory_is_used(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "leadership.detected.email.j2").write_text(
        "Subject: {{ outage.classification_text }} — incident {{ incident.id }}\n"
        "Down: {{ outage.causes | listing }}. Next update {{ next_update_at }}.\n",
        encoding="utf-8",
    )
    (folder / "any.detected.sms.j2").write_text("Outage {{ incident.id }} since {{ outage.started_at }}\n")
    templates = Templates(folder)
    email = templates.render("leadership", "detected", "email", variables("leadership", "detected"))
    assert email.overridden and email.template == str(folder / "leadership.detected.email.j2")
    assert email.subject == "a total outage — incident 7"
    assert email.body == "Down: SIP trunk, Carrier A; and SIP trunk, Carrier B. Next update 11:36 BST."
    # any.* overrides every audience without one of its own, but not one with its own default.
    assert templates.render("leadership", "detected", "sms", variables("leadership", "detected")).body == (
        "Outage 7 since 10:30 BST"
    )
    assert templates.render("employees", "detected", "sms", variables("employees", "detected")).body != (
        "Outage 7 since 10:30 BST"
    )
    regulator = templates.render("regulator", "detected", "email", variables("regulator", "detected"))
    assert not regulator.overridden
    # The module's render() finds DATA_DIR/templates.
    again = render("leadership", "detected", "email", variables("leadership", "detected"), data_dir=tmp_path)
    assert again == email


def test_an_override_added_or_edited_is_used_from_the_next_message(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    templates = Templates(folder)
    assert not templates.render("leadership", "update", "sms", variables("leadership", "update")).overridden
    folder.mkdir()
    path = folder / "any.update.sms.j2"
    path.write_text("first {{ incident.id }}")
    update = variables("leadership", "update")
    assert templates.render("leadership", "update", "sms", update).body == "first 7"
    path.write_text("second {{ incident.id }}")
    assert templates.render("leadership", "update", "sms", update).body == "second 7"


def broken(tmp_path: Path, name: str, text: str) -> TemplateProblem:
    folder = tmp_path / "templates"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    audience, phase, channel, _ = name.split(".")
    with pytest.raises(TemplateProblem) as caught:
        Templates(folder).render(audience, phase, channel, variables(audience, phase))
    return caught.value


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    text = "Subject: x\nline two\n{% if outage.queues %}\nopen\n"
    problem = broken(tmp_path, "regulator.detected.email.j2", text)
    assert problem.template == str(tmp_path / "templates" / "regulator.detected.email.j2")
    assert problem.line is not None and problem.line >= 3
    assert "syntax error" in str(problem) and str(problem).startswith(f"{problem.template}:{problem.line}: ")


def test_an_undefined_variable_names_the_file_line_and_name(tmp_path: Path) -> None:
    problem = broken(
        tmp_path, "leadership.update.email.j2", "Subject: ok\nline two\nHello {{ outage.cause_names }}\n"
    )
    assert problem.line == 3
    assert "cause_names" in str(problem)
    assert str(problem).startswith(str(tmp_path / "templates" / "leadership.update.email.j2") + ":3: ")
    unknown = broken(tmp_path, "any.update.sms.j2", "{{ regulator_name }}")
    assert "'regulator_name' is undefined" in str(unknown) and unknown.line == 1


def test_other_broken_templates_are_clear_problems(tmp_path: Path) -> None:
    no_subject = broken(tmp_path, "leadership.resolved.email.j2", "Hello\n")
    assert "Subject:" in str(no_subject)
    long_sms = broken(tmp_path, "employees.detected.sms.j2", "{% for i in range(50) %}too long {% endfor %}")
    assert "at most 320" in str(long_sms)
    empty = broken(tmp_path, "any.detected.status_page.j2", "{% if false %}x{% endif %}")
    assert "empty" in str(empty)
    escape = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    sandboxed = broken(tmp_path, "any.detected.ivr_message.j2", escape)
    assert sandboxed.line == 1 and "SecurityError" in str(sandboxed)


def test_check_templates_reports_every_broken_override(tmp_path: Path) -> None:
    settings = Settings(database_url="sqlite://", data_dir=tmp_path)
    assert check_templates(PLAN, settings, now=T0) == []
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "any.resolved.sms.j2").write_text("{{ nope }}")
    problems = check_templates(PLAN, settings, now=T0)
    # every audience that falls back to any.resolved.sms: leadership, regulator, first responders
    assert problems and all("nope" in str(p) for p in problems)


def test_every_documented_variable_exists() -> None:
    names = variables("vendors", "update")
    for dotted in VARIABLES:
        head, _, tail = dotted.partition(".")
        assert head in names, dotted
        if tail and isinstance(names[head], dict):
            assert tail in names[head], dotted
    guide = (Path(__file__).parents[2] / "docs" / "operations.md").read_text(encoding="utf-8")
    for dotted in VARIABLES:
        assert f"`{dotted}`" in guide, f"{dotted} is not in docs/operations.md"
    shipped = sorted(p.name for p in default_dir().glob("*.j2"))
    assert len(shipped) == 35
    for name in shipped:
        assert name in guide, f"{name} is not listed in docs/operations.md"


def test_listing_and_durations_read_as_people_write_them() -> None:
    assert listing([]) == "none"
    assert listing(["a"]) == "a"
    assert listing(["a", "b"]) == "a and b"
    assert listing(["a", "b", "c"]) == "a, b and c"
    assert listing(["a", "b", "c", "d", "e"]) == "a, b, c and 2 more"
    assert listing(["a, b", "c"]) == "a, b; and c"
    assert duration_text(timedelta(seconds=30)) == "under a minute"
    assert duration_text(timedelta(minutes=1)) == "1 minute"
    assert duration_text(timedelta(minutes=65)) == "1 hour 5 minutes"
    assert duration_text(timedelta(hours=2)) == "2 hours"
    assert duration_text(timedelta(days=1, hours=3, minutes=4)) == "1 day 3 hours"


def test_a_compiled_template_is_kept_until_its_file_changes_or_an_override_shadows_it(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    templates = Templates(folder)
    update = variables("leadership", "update")
    default = templates.render("leadership", "update", "sms", update).body
    compiled = templates.environment.get_template("any.update.sms.j2")
    assert templates.environment.get_template("any.update.sms.j2") is compiled  # kept: not compiled again
    shadow = folder / "any.update.sms.j2"
    shadow.write_text("override {{ incident.id }}")
    assert templates.render("leadership", "update", "sms", update).body == "override 7"
    os.utime(shadow, ns=(10**18, 10**18))
    shadow.write_text("edited {{ incident.id }}")
    os.utime(shadow, ns=(10**18, 10**18))  # the same time: the size tells the edit
    assert templates.render("leadership", "update", "sms", update).body == "edited 7"
    shadow.unlink()
    assert templates.render("leadership", "update", "sms", update).body == default
