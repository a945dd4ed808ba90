"""The architecture holds: import-linter's contracts in ``pyproject.toml`` are kept.

The contracts: ``ledger``'s layers (workflows > write > reports | read > rules > core),
no user-interface package in the core, ``webapp`` independent of ``inkl``, and no
import cycle among the modules of any package (docs/architecture.md).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _lint_imports(config: Path) -> subprocess.CompletedProcess:
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert command, "lint-imports fehlt (import-linter gehört zu den Test-Abhängigkeiten)"
    return subprocess.run([command, "--config", str(config), "--no-cache"], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


def test_import_contracts_are_kept():
    done = _lint_imports(REPO / "pyproject.toml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize("importer, imported", [
    ("ledger/core/money.py", "ledger.reports.repayment"),  # a lower layer importing a higher one
    ("ledger/rules/classify.py", "flask"),                  # the core importing a user interface
    ("ledger/core/schoolyear.py", "ledger.core.periods"),   # a cycle among the core's modules
])
def test_a_violation_breaks_a_contract(tmp_path, importer, imported):
    """The contracts are not vacuous: a copy of the tree with one forbidden import fails."""
    tree = tmp_path / "tree"
    for package in ("ledger", "webapp", "inkl"):
        shutil.copytree(REPO / package, tree / package, ignore=shutil.ignore_patterns("__pycache__", "templates",
                                                                                      "static"))
    shutil.copy(REPO / "pyproject.toml", tree / "pyproject.toml")
    module = tree / importer
    module.write_text(module.read_text() + f"\nimport {imported}  # noqa\n")
    done = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, '.'); "
                           "from importlinter.cli import lint_imports_command; lint_imports_command()",
                           "--config", "pyproject.toml", "--no-cache"],
                          cwd=tree, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0, done.stdout
    assert "BROKEN" in done.stdout
