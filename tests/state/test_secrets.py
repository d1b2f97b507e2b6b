"""No secret value ever reaches the state database file."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.render.renderer import render_inventory
from kopnet_iac.state import (
    DB_FILE,
    ReleaseStore,
    SecretGuard,
    SecretLeakError,
    cleartext_secrets,
    mask_secrets,
)
from kopnet_iac.state.redact import MASK, SENSITIVE_KEYS
from tests.conftest import EXAMPLE_FLEET, SHARED_DIR
from tests.state.conftest import CANARY, CFG, RSC, begin


def _file_bytes(state_dir: Path) -> bytes:
    """The database and its WAL: everything SQLite wrote."""
    return b"".join(p.read_bytes() for p in sorted(state_dir.glob(f"{DB_FILE}*")))


def test_rendered_config_with_a_secret_in_clear_is_refused(
    store: ReleaseStore, state_dir: Path
) -> None:
    leaky = RSC.replace('"@@secret:core-admin@@"', f'"{CANARY}"')
    with pytest.raises(SecretLeakError) as info:
        begin(store, rendered={"core-desa-x.rsc": leaky})
    message = str(info.value)
    assert "core-desa-x.rsc: line 6 sets password in clear" in message
    assert CANARY not in message
    assert store.releases() == []
    with pytest.raises(SecretLeakError, match=r"sec-desa-x-1.cfg: line 3 sets users.1.password"):
        begin(store, rendered={"sec-desa-x-1.cfg": CFG.replace("@@secret:radio-admin@@", "x1")})
    assert CANARY.encode() not in _file_bytes(state_dir)


def test_flagged_values_are_refused_in_configs_anywhere(store: ReleaseStore) -> None:
    store.forbid([CANARY])
    hidden = RSC + f'/system note\nset note="{CANARY}"\n'  # not a sensitive property
    with pytest.raises(SecretLeakError, match=r"rendered core-desa-x\.rsc: it contains a value"):
        begin(store, rendered={"core-desa-x.rsc": hidden})
    rid = begin(store)
    for field in ("running_before", "plan", "revert_plan"):
        with pytest.raises(SecretLeakError, match=f"{field} of core-desa-x") as info:
            store.record_device(rid, "core-desa-x", platform="routeros", **{field: f"# {CANARY}\n"})
        assert CANARY not in str(info.value)
        assert info.value.host == "core-desa-x" and info.value.village == "desa-x"
    assert store.get_release(rid).devices == []


def test_device_texts_are_masked_on_the_way_in(store: ReleaseStore) -> None:
    rid = begin(store)
    running = (
        f'/user\nadd name=noc password="{CANARY}" group=full\n'
        f"/interface wireless security-profiles\nset [ find default=yes ] "
        f"wpa2-pre-shared-key={CANARY} mode=dynamic-keys\n"
    )
    store.record_device(rid, "core-desa-x", platform="routeros", running_before=running,
                        revert_plan=running)  # fmt: skip
    store.record_device(rid, "sec-desa-x-1", platform="airos",
                        running_before=f"users.1.password={CANARY}\nradio.1.freq=5745\n")  # fmt: skip
    release = store.get_release(rid)
    core, sector = release.devices
    assert "add name=noc password=*** group=full" in core["running_before"]
    assert "wpa2-pre-shared-key=*** mode=dynamic-keys" in core["revert_plan"]
    assert sector["running_before"] == "users.1.password=***\nradio.1.freq=5745\n"


def test_flagged_values_are_redacted_from_free_text(store: ReleaseStore) -> None:
    store.forbid([CANARY, "abc"])  # too short to search: ignored, never a false alarm
    rid = begin(store)
    store.journal(rid, "connect", host="core-desa-x",
                  detail={"login": "noc", "tried": [f"password {CANARY}"], CANARY: 1})  # fmt: skip
    store.record_verification(
        rid, [{"host": "core-desa-x", "check": "radius", "ok": False, "detail": f"sent {CANARY}"}]
    )
    store.record_device(rid, "core-desa-x", platform="routeros", error=f"login {CANARY} refused")
    store.finish_release(rid, "failed", error=f"core-desa-x: bad password {CANARY}")
    release = store.get_release(rid)
    assert release.journal[0]["detail"] == {"login": "noc", "tried": ["password ***"], "***": 1}
    assert release.verification[0]["detail"] == "sent ***"
    assert release.devices[0]["error"] == "login *** refused"
    assert release.error == "core-desa-x: bad password ***"


def test_canary_never_in_the_database_file(state_dir: Path) -> None:
    """A whole release with the canary offered in every field: the file never holds it."""
    with ReleaseStore.open(state_dir, secret_values=[CANARY]) as store:
        with pytest.raises(SecretLeakError):
            begin(store, rendered={"core-desa-x.rsc": RSC.replace("@@secret:core-admin@@", CANARY)})
        rid = begin(store)
        store.journal(rid, "plan", detail={"diff": f"password={CANARY}"})
        store.record_device(rid, "core-desa-x", platform="routeros",
                            running_before=f"/user\nadd name=noc password={CANARY}\n")  # fmt: skip
        with pytest.raises(SecretLeakError):
            store.record_device(rid, "core-desa-x", platform="routeros", plan=f"# {CANARY}")
        store.record_verification(rid, [{"check": "c", "ok": True, "detail": CANARY}])
        store.finish_release(rid, "failed", error=CANARY)
        assert CANARY.encode() not in _file_bytes(state_dir)
    assert CANARY.encode() not in _file_bytes(state_dir)  # after the WAL checkpoint too
    assert b"@@secret:core-admin@@" in _file_bytes(state_dir)  # the placeholder is stored


def test_the_rendered_example_fleet_passes_the_guard() -> None:
    """No false alarm: every config the renderer makes carries placeholders only."""
    artifacts = render_inventory(load_inventory(EXAMPLE_FLEET))
    assert artifacts
    for artifact in artifacts:
        assert cleartext_secrets(artifact.text) == [], artifact.path
        assert mask_secrets(artifact.text) == artifact.text, artifact.path


CORPUS = sorted(Path(SHARED_DIR, "corpus").glob("*/*.*"))


@pytest.mark.skipif(not CORPUS, reason="real-export corpus not present")
def test_masking_real_exports_leaves_no_secret_in_clear() -> None:
    """Real RouterOS exports and airOS system.cfg files, secrets and all."""
    found = 0
    for path in CORPUS:
        if path.suffix not in (".rsc", ".cfg"):
            continue
        text = path.read_text(errors="replace")
        found += len(cleartext_secrets(text))
        masked = mask_secrets(text)
        assert cleartext_secrets(masked) == [], path.name
        assert masked.count("\n") == text.count("\n"), path.name
    assert found > 10  # the corpus does carry secrets, so the check above means something


def test_guard_basics() -> None:
    guard = SecretGuard(["abc", CANARY])
    assert len(guard) == 1 and guard.found_in(f"x{CANARY}y") and not guard.found_in("abc")
    guard.add(["longer-secret"])
    assert guard.redact("longer-secret and password=hunter2") == "*** and password=***"
    assert guard.redact_data({"a": ("longer-secret", 3)}) == {"a": ["***", 3]}
    assert guard.redact_data([Path("/x/longer-secret"), None, True, 1.5]) == [
        "/x/***",
        None,
        True,
        1.5,
    ]
    assert mask_secrets('key=\\"REMOVED\\" next=1') == "key=*** next=1"
    assert mask_secrets("public-key=AAAA private-key=BBBB") == "public-key=AAAA private-key=***"
    assert mask_secrets("sshd.auth.key.1.value=AAAAC3Nz\n") == "sshd.auth.key.1.value=AAAAC3Nz\n"
    assert cleartext_secrets('password="" secret=*** psk="@@secret:k@@"') == []


SECRET_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\n\r"
    ),
    min_size=4,
    max_size=40,
).filter(lambda s: s.strip() and "*" not in s and "@@" not in s)


def _ros_quote(value: str) -> str:
    """How RouterOS exports a value: bare when it can, else quoted with escapes."""
    if value.isalnum():
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


@settings(max_examples=200, deadline=None)
@given(value=SECRET_TEXT, key=st.sampled_from(sorted(SENSITIVE_KEYS)))
def test_masking_removes_any_routeros_secret(value: str, key: str) -> None:
    line = f"/interface wireless security-profiles add name=p {key}={_ros_quote(value)} mode=x\n"
    masked = mask_secrets(line)
    assert f"{key}=*** mode=x" in masked
    assert cleartext_secrets(masked) == []
    assert cleartext_secrets(line) == [(1, key)]


@settings(max_examples=200, deadline=None)
@given(value=SECRET_TEXT, suffix=st.sampled_from(["password", "psk", "secret", "community"]))
def test_masking_removes_any_airos_secret(value: str, suffix: str) -> None:
    text = f"radio.1.freq=5745\naaa.1.wpa.{suffix}={value}\nusers.1.name=noc\n"
    masked = mask_secrets(text)
    assert masked == f"radio.1.freq=5745\naaa.1.wpa.{suffix}=***\nusers.1.name=noc\n"
    assert cleartext_secrets(masked) == []


@settings(max_examples=100, deadline=None)
@given(values=st.lists(SECRET_TEXT, min_size=1, max_size=4), noise=st.text(max_size=60))
def test_redaction_removes_every_flagged_value(values: list[str], noise: str) -> None:
    guard = SecretGuard(values)
    text = noise.join(values) + noise
    redacted = guard.redact(text)
    for value in values:
        assert value not in redacted or value in MASK
