"""The command line: every (sub)command has --help; only working commands are listed."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from scalper_tune.cli import build_parser

from tests.conftest import ROOT, run_subprocess

COMMANDS = [("run",), ("ml-edge",), ("audit",), ("backtest",), ("check",), ("paper",),
            ("stress",), ("regimes",), ("live",), ("data",), ("data", "synth"), ("data", "import"),
            ("data", "inspect")]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help(cli, command):
    result = cli(*command, "--help")
    assert result.code == 0 and "usage:" in result.out


def test_top_level_lists_exactly_the_working_commands(cli):
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert sorted(sub.choices) == ["audit", "backtest", "check", "data", "live", "ml-edge",
                                   "paper", "regimes", "run", "stress"]
    result = cli("--help")
    assert result.code == 0 and all(name in result.out for name in sub.choices)


def test_no_command_is_a_usage_error(cli):
    assert cli().code == 2


def test_console_script_and_module_agree():
    module = run_subprocess("--version")
    assert module.code == 0 and "scalper_tune" in module.out
    script = Path(sys.executable).parent / "scalper-tune"
    assert script.is_file(), "the scalper-tune console script is not installed"
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout == module.out


def _docs() -> str:
    """The README and the docs it links."""
    return "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])


def test_docs_document_every_command():
    docs = _docs()
    for command in COMMANDS:
        assert "scalper_tune " + " ".join(command) in docs, command
    readme = (ROOT / "README.md").read_text()
    for link in ("docs/pipeline.md", "docs/commands.md", "docs/architecture.md"):
        assert link in readme and (ROOT / link).is_file(), link


def test_docs_list_every_metric():
    import dataclasses

    from scalper_tune.engine.metrics import Metrics

    strategy = (ROOT / "docs" / "strategy.md").read_text()
    for field in dataclasses.fields(Metrics):
        assert f"`{field.name}`" in strategy, field.name


def test_library_errors_name_the_parameter_and_the_cli_its_flag(cli, tmp_path):
    """A Python caller reads the argument it passed (`out_dir ...`); the command line reads
    its flag (`--out ...`)."""
    import pytest

    from scalper_tune.data.dataset_store import check_out_dir
    from scalper_tune.errors import UsageError

    (tmp_path / "taken").write_text("a file")
    with pytest.raises(UsageError) as caught:
        check_out_dir(tmp_path / "taken")
    assert caught.value.param == "out_dir" and str(caught.value).startswith("out_dir ")
    assert "--out" not in str(caught.value)
    result = cli("data", "synth", "--out", tmp_path / "taken", "--bars", "2000")
    assert result.code == 2 and result.err.startswith(f"error: --out {tmp_path / 'taken'}: ")
