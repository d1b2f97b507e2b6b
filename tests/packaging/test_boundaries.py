"""The product does not import its test bench: only ``kopnet_iac.lab`` itself and the CLI
(which wires ``--lab`` to the lab's target source) may import ``kopnet_iac.lab``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kopnet_iac.inventory.targets import (
    ConnectionTarget,
    TargetSource,
    TargetSourceError,
    available_sources,
    named_source,
)
from tests.conftest import REPO_ROOT

PACKAGE = Path(REPO_ROOT) / "kopnet_iac"
ALLOWED = ("lab", "cli")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(text: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, imported module) of every import in a module's text, relative ones made
    absolute, those inside functions included."""
    tree = ast.parse(text)
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
    return found


def _imports_lab(module: str) -> bool:
    return module == "kopnet_iac.lab" or module.startswith("kopnet_iac.lab.")


def test_the_scan_sees_absolute_relative_and_function_level_imports() -> None:
    text = (
        "def f():\n    from kopnet_iac.lab.targets import x\n"
        "from ...lab import control\n"
        "import kopnet_iac.lab.daemon as d\n"
        "from ... import lab\n"
        "from kopnet_iac.inventory import targets\n"
        "from ..labels import x\n"
    )
    hits = {
        line for line, m in _imports(text, "kopnet_iac.platforms.linux.gateway") if _imports_lab(m)
    }
    assert hits == {2, 3, 4, 5}


def test_no_product_module_imports_the_lab() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        top = path.relative_to(PACKAGE).parts[0]
        if top in ALLOWED:
            continue
        text = path.read_text()
        for line, module in _imports(text, _module_name(path), path.name == "__init__.py"):
            if _imports_lab(module):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {module}")
    assert not offenders, "product code imports the lab:\n" + "\n".join(offenders)


def test_the_lab_is_a_registered_target_source(tmp_path: Path) -> None:
    assert "lab" in available_sources()
    source = named_source("lab", tmp_path)
    assert isinstance(source, TargetSource)
    assert source.location == str(tmp_path)
    assert source.gateways() == []  # nothing recorded in an empty folder
    assert "kopnet lab up sukadana" in source.missing("sukadana", "gw-sukadana")
    assert source.account_password("core-sukadana") == "lab-core-sukadana"


def test_an_unknown_source_is_a_clear_error() -> None:
    with pytest.raises(TargetSourceError, match=r"unknown target source 'cmdb'.*lab"):
        named_source("cmdb")


def test_a_target_never_shows_its_password() -> None:
    target = ConnectionTarget("r1", "routeros", "127.0.0.1", 8728, 22, None, "admin", "s3cr3t", "")
    assert "s3cr3t" not in repr(target)
    assert target.running
