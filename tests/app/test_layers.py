"""The dependency direction of DESIGN.md, checked over the source tree (AST) like any other rule.

server/ (the infrastructure floor) imports none of handlers/, models/, workers/ or app/; models/
import no handlers or workers; workers/ import no handlers; and nothing but run.py and tests
imports the composition root (app/). Imports under `if TYPE_CHECKING:` count too: a cycle hidden
from the runtime is still a cycle in the design.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN = {
    "server": {"handlers", "models", "workers", "app"},
    "models": {"handlers", "workers", "app"},
    "workers": {"handlers", "app"},
    "handlers": {"workers", "app"},
    "config": {"server", "handlers", "models", "workers", "app"},
}


def imported_packages(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name.split(".")[0], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module.split(".")[0], node.lineno))
    return found


def violations() -> list[str]:
    bad = []
    for layer, forbidden in FORBIDDEN.items():
        for path in sorted((ROOT / layer).rglob("*.py")):
            for package, line in imported_packages(path):
                if package in forbidden:
                    bad.append(f"{path.relative_to(ROOT)}:{line} imports {package}")
    return bad


def test_layers_import_only_downwards() -> None:
    assert violations() == []


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    """The checker itself can fail: an upward import in a scratch file is reported."""
    sample = tmp_path / "x.py"
    sample.write_text("import os\nfrom handlers import chat\nif True:\n    import workers.worker\n")
    assert imported_packages(sample) == [("os", 1), ("handlers", 2), ("workers", 4)]


def test_run_py_worker_loads_no_handler_module() -> None:
    """`python run.py worker` builds the worker from models and workers alone: the transports are
    never imported (the run is stopped right where it would start consuming)."""
    probe = """
import asyncio, json, sys
import run

def stop_here(coro):
    coro.close()
    print(json.dumps(sorted(m for m in sys.modules if m == "handlers" or m.startswith(("handlers.", "app.web")))))

asyncio.run = stop_here
run.main(["worker"])
import app.worker
assert app.worker.JOBS, "the worker has job handlers"
"""
    env = {**os.environ, "MONGODB_URL": "mongodb://db.invalid:27017"}  # a worker needs a shared store
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True, env=env
    ).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []
