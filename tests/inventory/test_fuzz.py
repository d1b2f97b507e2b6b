"""Whatever an engineer types into a value, validation answers with problems, never a crash."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kopnet_iac.errors import InventoryError
from kopnet_iac.inventory.loader import load_inventory
from tests.inventory.conftest import EXAMPLE

NASTY = [
    "",
    "-1",
    "0",
    "[",
    "]",
    "{a: 1}",
    "[1, 2]",
    "null",
    "~",
    "yes",
    "99999999999999999999",
    "x:y",
    "5725",
    "5826",
    "ether9",
    "1.5",
    "'",
    '"',
    "&a",
    "*b",
    "!!binary AA==",
    "2001-01-01",
    "10.0.0.0/8",
    "300.1.1.1",
    "fe80::1",
    ".nan",
    "core-sukadana:ether1",
    "sec-sukadana-1",
    "\t",
    "voucher-harian",
    "gateway",
    "vsat",
    "- a",
    "? x",
    "%",
    "@",
    "`",
    "a\\u0000b",
]
FILES = [
    "villages/sukadana.yaml",
    "villages/pematang-panggang.yaml",
    "fleet.yaml",
    "hardware.yaml",
    "addresses.lock.yaml",
]
EXAMPLES = int(
    os.environ.get("KOPNET_FUZZ_EXAMPLES", "120" if os.environ.get("KOPNET_FULL") else "40")
)


def _scalar_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of every scalar value in a YAML text."""
    spans = []
    stack = [yaml.compose(text, Loader=yaml.CSafeLoader)]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            spans.append((node.start_mark.index, node.end_mark.index))
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                spans.append((key.start_mark.index, key.end_mark.index))
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return sorted(spans)


SPANS = {name: _scalar_spans((EXAMPLE / name).read_text()) for name in FILES}


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="kopnet-fuzz-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(st.sampled_from(FILES), st.integers(0, 10_000), st.sampled_from(NASTY)),
        min_size=1,
        max_size=3,
    )
)
def test_mutated_values_give_problems_not_crashes(
    scratch: Path, mutations: list[tuple[str, int, str]]
) -> None:
    root = scratch / "inv"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(EXAMPLE, root)
    per_file: dict[str, list[tuple[int, int, str]]] = {}
    for name, pick, value in mutations:
        start, end = SPANS[name][pick % len(SPANS[name])]
        per_file.setdefault(name, []).append((start, end, value))
    for name, edits in per_file.items():
        text = (EXAMPLE / name).read_text()
        for start, end, value in sorted(set(edits), reverse=True):
            if any(s < end and start < e for s, e, _ in edits if (s, e) != (start, end)):
                continue
            text = text[:start] + value + text[end:]
        (root / name).write_text(text)
    try:
        inv = load_inventory(root)
    except InventoryError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.position.file.startswith(str(root))
            assert problem.position.line >= 1 and problem.position.column >= 1
            assert str(problem).count(":") >= 3
    else:
        assert inv.villages  # a harmless mutation (e.g. a name) still loads
