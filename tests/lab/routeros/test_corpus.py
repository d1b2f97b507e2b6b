"""Every real export in the shared corpus loads into an emulated router and exports back equal."""

from __future__ import annotations

import os
from pathlib import Path

import librouteros
import pytest

from kopnet_iac.errors import NotAnExportError
from kopnet_iac.lab.routeros.device import RouterOSDevice
from kopnet_iac.platforms.routeros.normalize import equivalent
from kopnet_iac.platforms.routeros.parser import parse_export
from tests.conftest import SHARED_DIR

from .conftest import TEST_PASSWORD, Lab

CORPUS = Path(SHARED_DIR) / "corpus" / "routeros"
FILES = sorted(CORPUS.glob("*.rsc")) if CORPUS.is_dir() else []
EXPECTED_EXPORTS = 37  # the rest are scripts (NotAnExportError), not configurations


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="surrogateescape")


def fresh(lab: Lab) -> RouterOSDevice:
    """A device with no defconf and default hardware; exports bring their own ports."""
    device = lab.start(lab.spec(factory_default=False))
    return device


@pytest.mark.skipif(not FILES, reason="shared corpus not present")
def test_every_export_round_trips(lab: Lab) -> None:
    device = fresh(lab)
    baseline = device.router.store.to_json()
    loaded = scripts = 0
    failures: list[str] = []
    for path in FILES:
        text = read(path)
        try:
            original = parse_export(text, path.name)
        except NotAnExportError:
            scripts += 1
            continue
        device.router.store.load_json(baseline)
        assert device.router.interpreter is not None
        lab.loop.run(device.router.interpreter.run_text(text, source=path.name))
        exported = device.export(show_sensitive=True)
        if not equivalent(original, parse_export(exported, "export")):
            failures.append(path.name)
        loaded += 1
    print(f"corpus: {loaded} exports round-tripped, {scripts} scripts skipped, failures {failures}")
    assert failures == []
    assert loaded == EXPECTED_EXPORTS


@pytest.mark.skipif(not FILES, reason="shared corpus not present")
def test_hidden_secrets_and_terse_form(lab: Lab) -> None:
    device = fresh(lab)
    text = "/ppp secret add name=alice password=alice-fake-pw service=pppoe\n/system identity set name=edge\n"
    assert device.router.interpreter is not None
    lab.loop.run(device.router.interpreter.run_text(text, source="t"))
    hidden = device.export()
    assert "alice-fake-pw" not in hidden and "add name=alice service=pppoe" in hidden
    terse = device.export(terse=True, show_sensitive=True)
    assert "/ppp secret add name=alice password=alice-fake-pw service=pppoe" in terse
    assert "/system identity set name=edge" in terse
    assert equivalent(parse_export(terse), parse_export(device.export(show_sensitive=True)))


@pytest.mark.skipif(not FILES, reason="shared corpus not present")
def test_export_loads_over_the_api_import(lab: Lab) -> None:
    """The full client path: upload with /file add, /import, read back with /export file=."""
    path = next(p for p in FILES if p.name == "001.rsc")
    device = fresh(lab)
    api = librouteros.connect(device.spec.host, "admin", TEST_PASSWORD, port=8728)
    config = api.config()
    config.apply(read(path))
    exported = config.export(show_sensitive=True)
    api.close()
    assert equivalent(parse_export(read(path)), parse_export(exported))
    assert os.path.exists(device.state_dir / "state.json")


def test_malformed_import_is_rejected_before_any_change(lab: Lab) -> None:
    device = lab.start()
    api = librouteros.connect(device.spec.host, "admin", TEST_PASSWORD, port=8728)
    with pytest.raises(librouteros.exceptions.TrapError, match="syntax error \\(line 2"):
        api.config().apply('/ip pool add name=a ranges=10.0.0.1-10.0.0.9\n/ip pool add name="b\n')
    assert device.router.store.entries("ip pool") == []
    api.close()
