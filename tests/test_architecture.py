"""The dependency rule of ARCHITECTURE.md, enforced with import-linter."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_import_contracts_hold():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    proc = subprocess.run([exe, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "BROKEN" not in proc.stdout and "KEPT" in proc.stdout


def test_numba_only_in_kernels():
    for path in (ROOT / "scalper_tune").rglob("*.py"):
        if "kernels" in path.parts:
            continue
        text = path.read_text()
        assert "import numba" not in text and "from numba" not in text, path
