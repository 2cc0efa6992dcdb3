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


def test_no_global_random_state():
    """Every random draw comes from a seeded Generator (np.random.default_rng(seed)) or an
    estimator's random_state=seed: never NumPy's or Python's global state."""
    import ast

    allowed = {"default_rng", "Generator", "SeedSequence", "PCG64"}
    for path in (ROOT / "scalper_tune").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                    and node.value.attr == "random" and node.attr not in allowed:
                raise AssertionError(f"{path}:{node.lineno}: np.random.{node.attr}")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert "random" not in names, f"{path}:{node.lineno}: the random module"
            if isinstance(node, ast.keyword) and node.arg == "random_state":
                assert not (isinstance(node.value, ast.Constant) and node.value.value is None), \
                    f"{path}:{node.lineno}: random_state=None"


def test_docs_import_table_is_the_real_one():
    """docs/architecture.md's table of what each package imports is generated from the source."""
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "import_graph.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout


def test_no_two_modules_share_a_file_name():
    """One name, one module: `report.py` in three packages made every import a guess."""
    names = [p.name for p in (ROOT / "scalper_tune").rglob("*.py") if p.name != "__init__.py"]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []
