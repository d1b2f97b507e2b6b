"""YAML loading with positions: the fast constructor and the position lookup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kopnet_iac.inventory.yamlpos import Problems, _construct, field_path, load_yaml
from tests.inventory.conftest import EXAMPLE

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=True, width=64),
    st.text(max_size=12),
)
keys = st.text(alphabet="abcdefghij-_0123456789", min_size=1, max_size=8)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=20,
)


def pyyaml(text: str) -> Any:
    return yaml.load(text, Loader=yaml.CSafeLoader)


def fast(text: str) -> Any:
    node = yaml.compose(text, Loader=yaml.CSafeLoader)
    return None if node is None else _construct(node)


@settings(max_examples=100, deadline=None)
@given(documents, st.booleans())
def test_fast_constructor_agrees_with_pyyaml(doc: Any, flow: bool) -> None:
    text = yaml.safe_dump(doc, default_flow_style=flow, allow_unicode=True)
    try:
        expected = pyyaml(text)
    except yaml.YAMLError:
        return
    from kopnet_iac.inventory import yamlpos

    try:
        got = fast(text)
    except yamlpos._Fallback:
        got = pyyaml(text)  # what load_yaml does
    assert got == expected or (got != got and expected != expected)


@pytest.mark.parametrize(
    "text",
    [
        "a: 017\nb: 0x1f\nc: 1_000\nd: .inf\ne: -.inf\nf: 2001-01-01\n",
        "base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n",
        "a: yes\nb: No\nc: ON\nd: ~\ne: null\nf: ''\ng: '017'\nh: +5\ni: -0\n",
        "- [1, 2.5, three]\n- {k: v}\n- !!str 12\n",
    ],
)
def test_tricky_scalars_match_pyyaml(tmp_path: Path, text: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(text)
    out = Problems()
    doc = load_yaml(path, out)
    assert doc is not None and not out.items
    assert doc.data == pyyaml(text)


def test_example_files_load_identically() -> None:
    for path in [
        EXAMPLE / "fleet.yaml",
        EXAMPLE / "hardware.yaml",
        *sorted((EXAMPLE / "villages").glob("*.yaml")),
    ]:
        doc = load_yaml(path, Problems())
        assert doc is not None
        assert doc.data == pyyaml(path.read_text()), path.name


def _paths(
    data: Any, prefix: tuple[str | int, ...] = ()
) -> list[tuple[tuple[str | int, ...], Any]]:
    out: list[tuple[tuple[str | int, ...], Any]] = []
    if isinstance(data, dict):
        for k, v in data.items():
            out.append(((*prefix, k), v))
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.append(((*prefix, i), v))
            out.extend(_paths(v, (*prefix, i)))
    return out


words = st.text(alphabet="abcdefghijklmnop", min_size=2, max_size=6)
plain_docs = st.recursive(
    words,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3),
        st.dictionaries(words, inner, min_size=1, max_size=3),
    ),
    max_leaves=12,
).filter(lambda d: isinstance(d, dict))


@settings(max_examples=50, deadline=None)
@given(plain_docs, st.booleans())
def test_every_scalar_is_found_where_it_is_written(
    tmp_path_factory: pytest.TempPathFactory, doc: dict[str, Any], flow: bool
) -> None:
    path = tmp_path_factory.mktemp("pos") / "doc.yaml"
    path.write_text(yaml.safe_dump(doc, default_flow_style=flow))
    lines = path.read_text().splitlines()
    parsed = load_yaml(path, Problems())
    assert parsed is not None
    for loc, value in _paths(doc):
        pos = parsed.position(loc)
        assert pos.file == str(path)
        text_at = lines[pos.line - 1][pos.column - 1 :].lstrip("'")  # 'off' is quoted
        if isinstance(value, str):
            assert text_at.startswith(value), (loc, value, text_at)
        elif isinstance(value, dict):
            assert text_at[:1] == "{" or text_at.startswith(min(value)), (loc, text_at)
        if isinstance(loc[-1], str):
            key_pos = parsed.position(loc, "key")
            assert lines[key_pos.line - 1][key_pos.column - 1 :].lstrip("'").startswith(loc[-1])


def test_position_falls_back_to_the_deepest_node(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text("a:\n  b:\n    c: 1\n  d: [x, y]\n")
    doc = load_yaml(path, Problems())
    assert doc is not None
    assert str(doc.position(("a", "b", "zz"))) == f"{path}:3:5"  # stops at a.b's mapping
    assert str(doc.position(("a", "d", 1))) == f"{path}:4:10"
    assert str(doc.position(("a", "d", 7))) == f"{path}:4:6"  # index out of range: the list
    assert str(doc.position(("a", "b", "c"), "mapping")) == f"{path}:3:5"
    assert str(doc.position(("a", "b"), "key")) == f"{path}:2:3"
    assert (
        str(doc.position(("a", "b", "[key]"))) == f"{path}:2:3"
    )  # dict-key errors point at the key
    assert str(doc.position(())) == f"{path}:1:1"


def test_field_path() -> None:
    assert field_path(("devices", 2, "serial")) == "devices[2].serial"
    assert field_path(("partner_isp", "uplinks", "sat", "[key]")) == "partner_isp.uplinks.sat"
    assert field_path(("x", "function-after[f(), str]", "y")) == "x.y"
    assert field_path(()) == ""


def test_nested_duplicate_keys(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("a:\n  - {k: 1, k: 2}\n  - b: 1\n    c: 2\n    b: 3\n")
    out = Problems()
    load_yaml(path, out)
    assert sorted(str(p) for p in out.items) == [
        f"{path}:2:12: k: duplicate key 'k' (the earlier value would be silently ignored)",
        f"{path}:5:5: b: duplicate key 'b' (the earlier value would be silently ignored)",
    ]


def test_yaml_error_positions(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("a: 1\nb: [1, 2\nc: 3\n")
    out = Problems()
    assert load_yaml(path, out) is None
    (problem,) = out.items
    assert problem.position.file == str(path) and problem.position.line == 3
    assert "YAML syntax error" in problem.message
    tab = tmp_path / "tab.yaml"
    tab.write_text("a:\n\tb: 1\n")
    out = Problems()
    assert load_yaml(tab, out) is None
    assert out.items[0].position.line == 2


def test_empty_document(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing here\n")
    doc = load_yaml(path, Problems())
    assert doc is not None and doc.data is None and doc.node is None
    assert str(doc.position(("anything",))) == f"{path}:1:1"
