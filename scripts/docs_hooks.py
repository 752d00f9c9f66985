"""mkdocs hooks (mkdocs.yml ``hooks:``): the pages that are generated, never written by hand.

- ``configuration.md``: every setting of ``gis.settings.Settings`` (variable, default, meaning);
- ``cli-reference.md``: ``wangge --help`` and the ``--help`` of every command.

Both are made at build time from the code, so they cannot go stale. Every other page is a file
in ``docs/``; with no ``nav`` in mkdocs.yml the site shows them all (a new page needs no edit
of a shared file).
"""

from __future__ import annotations

import json
import os
from typing import Any

from mkdocs.structure.files import File, Files


def settings_page() -> str:
    from pydantic_core import PydanticUndefined

    from gis.settings import Settings

    prefix = Settings.model_config.get("env_prefix", "")
    lines = [
        "# Configuration",
        "",
        "Everything is an environment variable (or a line in `.env`), read by one settings class,",
        "`gis/settings.py`. This page is generated from that class when the site is built.",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default: Any = field.default
        if default is PydanticUndefined or default is None:
            shown = "unset"
        else:
            shown = f"`{json.dumps(default, default=str, ensure_ascii=False)}`"
        meaning = (field.description or "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `{(prefix + name).upper()}` | {shown} | {meaning} |")
    return "\n".join(lines) + "\n"


def _commands(group: Any, path: list[str]) -> list[list[str]]:
    out = [path]
    for name, command in sorted(getattr(group, "commands", {}).items()):
        if not getattr(command, "hidden", False):
            out.extend(_commands(command, [*path, name]))
    return out


def cli_page() -> str:
    import typer
    from typer.testing import CliRunner

    from api.cli import app

    os.environ.setdefault("COLUMNS", "100")
    runner = CliRunner()
    lines = [
        "# Command line reference",
        "",
        "The `--help` of `wangge` and of each of its commands, generated when the site is built.",
        "How the commands fit together: [Command line](command-line.md).",
        "",
    ]
    for path in _commands(typer.main.get_command(app), []):
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100", "NO_COLOR": "1"})
        assert result.exit_code == 0, (path, result.output)
        title = " ".join(["wangge", *path])
        lines += [f"## `{title}`", "", "```text", result.output.rstrip(), "```", ""]
    return "\n".join(lines)


def on_files(files: Files, config: Any) -> Files:
    for name, content in (("configuration.md", settings_page()), ("cli-reference.md", cli_page())):
        files.append(File.generated(config, name, content=content))
    return files
