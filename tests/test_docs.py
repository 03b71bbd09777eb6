"""The README stays honest: every command and every setting is documented, and the two make targets are shown."""
from __future__ import annotations

import click
import pytest

from adapters.cli.main import cli
from knowledge import SETTINGS
from support import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "husbot") -> list[tuple[str, click.Command]]:
    out = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        path = f"{prefix} {name}"
        out.append((path, cmd))
        if isinstance(cmd, click.Group):
            out.extend(_commands(cmd, path))
    return out


@pytest.mark.parametrize("path,command", _commands(cli), ids=lambda x: x if isinstance(x, str) else "")
def test_every_command_has_help_and_is_in_the_readme(path, command):
    assert (command.help or "").strip(), f"{path} has no help text"
    if not isinstance(command, click.Group):
        assert f"`{path}" in README, f"{path} is not documented in README.md"


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented_with_its_environment_variable(setting):
    assert setting.help.strip()
    assert f"| {setting.name} | `{setting.env}` |" in README


def test_readme_opens_with_the_two_commands():
    head = README[:800]
    assert "make run" in head and "make test" in head
