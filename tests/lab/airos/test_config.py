"""system.cfg parsing: the real corpus loads and reads back identical, garbage is rejected."""

from __future__ import annotations

from pathlib import Path

import pytest

from kopnet_iac.errors import ParseError
from kopnet_iac.lab.airos.config import (
    SystemConfig,
    check_password,
    factory_config,
    hash_password,
    lab_config,
    md5_crypt,
)
from tests.conftest import SHARED_DIR

CORPUS = Path(SHARED_DIR) / "corpus" / "airos"
CORPUS_FILES = sorted(CORPUS.glob("*.cfg")) if CORPUS.is_dir() else []


@pytest.mark.skipif(not CORPUS_FILES, reason="shared corpus folder not present")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_file_loads_and_reads_back_identical(path: Path) -> None:
    text = path.read_text()
    config = SystemConfig.parse(text)
    assert config.text == text
    assert len(config.values) == sum(1 for line in text.splitlines() if line.strip())
    # every key the file names is there with its value
    first = next(line for line in text.splitlines() if line.strip())
    key, _, value = first.partition("=")
    assert config.get(key) == value


def test_corpus_default_hash_is_md5_crypt_of_ubnt() -> None:
    assert md5_crypt("ubnt", "tL963iDU") == "$1$tL963iDU$SXu0h02ZZYfnoZcPkIlK21"
    assert check_password("ubnt", "$1$tL963iDU$SXu0h02ZZYfnoZcPkIlK21") is True
    assert check_password("wrong", "$1$tL963iDU$SXu0h02ZZYfnoZcPkIlK21") is False
    assert check_password("ubnt", "VvpvCwhccFv6Q") is None  # DES crypt: not checked here
    hashed = hash_password("fake-lab-pw")
    assert hashed.startswith("$1$") and check_password("fake-lab-pw", hashed)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("radio.1.freq=5745\nthis line has no equals sign\n", "expected key=value"),
        ("=value\n", "invalid key"),
        ("bad key=1\n", "invalid key"),
        ("a.b=1\na.b=2\n", "duplicate key"),
        ("a.b=1\x00\n", "control character"),
        ("x" * 300_000, "too large"),
    ],
)
def test_garbage_is_rejected_with_the_line(text: str, problem: str) -> None:
    with pytest.raises(ParseError) as info:
        SystemConfig.parse(text)
    assert problem in str(info.value)


def test_error_names_the_line_number() -> None:
    with pytest.raises(ParseError) as info:
        SystemConfig.parse("a=1\n\nb=2\ngarbage\n")
    assert info.value.position is not None and info.value.position.line == 4


def test_set_replaces_in_place_and_appends_new_keys() -> None:
    config = SystemConfig.parse("a.1=x\n\nb.1=y\n")
    config.set("b.1", "z")
    config.set("c.1", "new")
    assert config.text == "a.1=x\n\nb.1=z\nc.1=new\n"
    assert SystemConfig.parse(config.text).values == {"a.1": "x", "b.1": "z", "c.1": "new"}
    with pytest.raises(ParseError):
        config.set("d.1", "two\nlines")


def test_factory_and_lab_configs() -> None:
    factory = SystemConfig.parse(factory_config("LiteBeam-5AC-Gen2"))
    assert factory.get("netconf.3.ip") == "192.168.1.20"
    assert factory.get("netconf.3.netmask") == "255.255.255.0"
    assert factory.get("users.1.name") == "ubnt"
    assert check_password("ubnt", factory.get("users.1.password"))
    assert factory.addresses() == ["192.168.1.20"]
    lab = SystemConfig.parse(
        lab_config(
            hostname="bh-x",
            model="PowerBeam-5AC-Gen2",
            username="kopnet",
            password="lab-bh-x",
            access_point=True,
            ptmp=False,
            ssid="TEST-BH",
            frequency_mhz=5775,
            channel_width_mhz=40,
        )
    )
    assert lab.get("radio.countrycode") == "360"
    assert lab.get("radio.1.mode") == "master"
    assert lab.get("radio.1.freq") == "5775"
    assert lab.get("radio.1.chanbw") == "40"
    assert lab.get("resolv.host.1.name") == "bh-x"
    assert check_password("lab-bh-x", lab.get("users.1.password"))
