"""Every module the package imports is the standard library, the package itself or a declared
dependency of ``pyproject.toml`` (with a version range): nothing may arrive only because some
other dependency happens to pull it in."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

from tests.conftest import REPO_ROOT

PACKAGE = Path(REPO_ROOT) / "kopnet_iac"
PYPROJECT = Path(REPO_ROOT) / "pyproject.toml"
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> dict[str, str]:
    """Declared runtime dependency (canonical name) -> its requirement text."""
    data = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for req in data["project"]["dependencies"]:
        m = _NAME.match(req)
        assert m is not None, req
        out[_canonical(m.group(1))] = req
    return out


def _imported_top_levels() -> dict[str, list[str]]:
    """Top-level module name -> files importing it (absolute imports only)."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                found.setdefault(top, []).append(str(path.relative_to(REPO_ROOT)))
    return found


def test_every_third_party_import_is_a_declared_dependency() -> None:
    declared = _declared()
    owners = importlib.metadata.packages_distributions()
    missing: list[str] = []
    for top, files in sorted(_imported_top_levels().items()):
        if top in sys.stdlib_module_names or top in ("kopnet_iac", "__future__"):
            continue
        dists = owners.get(top)
        assert dists, f"{top} (imported by {files[0]}) is not installed at all"
        if not any(_canonical(d) in declared for d in dists):
            missing.append(f"{top} (distribution {dists[0]}, imported by {files[0]})")
    assert not missing, "imported but not declared in pyproject.toml: " + ", ".join(missing)


def test_every_declared_dependency_has_a_version_range() -> None:
    for name, req in _declared().items():
        assert re.search(r">=", req) and re.search(r"<", req), f"{name}: no range in {req!r}"


def test_the_scan_sees_the_imports_it_must_check() -> None:
    # Guards the scanner itself: modules known to be imported (also inside functions).
    tops = _imported_top_levels()
    for expected in ("yaml", "cryptography", "ansible", "click", "asyncssh"):
        assert expected in tops, f"import scan missed {expected}"
