"""The layer contract in pyproject.toml holds: content < programme | motion < storage < services <
cli | web, the interfaces reach stored data only through services, and no package has import cycles.
``make lint`` runs the same check; here it also runs in CI with the tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


def test_the_import_contracts_are_kept() -> None:
    linter = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if linter is None:
        pytest.skip("import-linter is not installed in this environment (make setup installs it)")
    result = subprocess.run(
        [linter, "--no-cache"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_every_python_folder_is_a_package_the_linter_can_see() -> None:
    """A folder of modules without ``__init__.py`` is a namespace package, invisible to the contract."""
    source = REPO_ROOT / "src" / "kneefix"
    missing = [
        folder.relative_to(source).as_posix()
        for folder in source.rglob("*")
        if folder.is_dir()
        and any(folder.glob("*.py"))
        and not (folder / "__init__.py").exists()
        and "migrations" not in folder.parts
    ]
    assert missing == []
