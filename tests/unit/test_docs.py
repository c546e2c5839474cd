"""Tests that fail when a setting, a command or an endpoint is undocumented."""

from __future__ import annotations

from pathlib import Path

import typer

from standby.cli import app
from standby.config import SETTINGS

ROOT = Path(__file__).resolve().parents[2]


def read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def command_names(typer_app: typer.Typer, prefix: str = "") -> list[str]:
    names: list[str] = []
    for command in typer_app.registered_commands:
        name = command.name or (command.callback.__name__.replace("_", "-") if command.callback else "")
        names.append(f"{prefix}{name}")
    for group in typer_app.registered_groups:
        assert group.typer_instance is not None
        names += command_names(group.typer_instance, f"{prefix}{group.name} ")
    return names


def test_every_setting_is_in_the_operations_guide():
    guide = read("docs/operations.md")
    for setting in SETTINGS:
        assert f"`{setting.env}`" in guide, f"{setting.env} is not documented in docs/operations.md"


def test_every_command_is_in_the_readme():
    readme = read("README.md")
    names = command_names(app)
    assert {"init", "check", "schema", "audit", "serve", "db upgrade", "token create"} <= set(names)
    for name in names:
        assert f"standby {name}" in readme, f"`standby {name}` is not documented in README.md"


def test_every_endpoint_is_in_the_api_reference(tmp_path):
    from standby.config import Settings
    from standby.web.app import create_app

    reference = read("docs/api.md")
    app = create_app(Settings.from_env({"STANDBY_DATA_DIR": str(tmp_path)}))
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            assert f"`{method.upper()} {path}`" in reference, f"{method.upper()} {path} is not in docs/api.md"
