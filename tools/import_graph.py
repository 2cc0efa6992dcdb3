"""Which scalper_tune packages each package imports (from the source, not from memory): prints
the table that docs/architecture.md carries between its `imports` markers; `--check` exits 1
when the docs differ (tests/test_architecture.py runs it)."""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "scalper_tune"
DOC = ROOT / "docs" / "architecture.md"
BEGIN, END = "<!-- imports -->", "<!-- /imports -->"


def edges() -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2:  # the top-level modules: the lazy public API, __main__, errors
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([node.module] if isinstance(node, ast.ImportFrom) and node.module else
                     [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                if name.startswith("scalper_tune.") and name.split(".")[1] != parts[0]:
                    out[parts[0]].add(name.split(".")[1])
    return out


def table() -> str:
    rows = ["| package | imports |", "|---|---|"]
    rows += [f"| `{p}` | {', '.join(f'`{d}`' for d in sorted(ds))} |"
             for p, ds in sorted(edges().items())]
    return "\n".join(rows)


def main() -> int:
    text = table()
    if "--check" in sys.argv:
        doc = DOC.read_text()
        shown = doc.split(BEGIN)[1].split(END)[0].strip() if BEGIN in doc else ""
        if shown != text:
            print(f"{DOC}: the imports table is stale; run python tools/import_graph.py and paste:\n"
                  + text)
            return 1
        return 0
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
