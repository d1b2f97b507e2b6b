"""Gateway files in backups and drift, the pure parts: the read script and its output,
secret masking, the paths per network backend, the comparison and a drift row."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from kopnet_iac.fleet.drift import DeviceDrift, gateway_row
from kopnet_iac.fleet.gateway import (
    GatewayOutcome,
    GatewayReadError,
    backup_files,
    compare_files,
    intended_by_path,
    mask_text,
    parse_read,
    read_script,
    split_paths,
)
from kopnet_iac.platforms.linux.transaction import managed_paths

CANARY = "canary-isp-bgp-7Qx"
TOKEN = "KOPNET-0123456789abcdef"
BIRD_INTENDED = (
    'protocol bgp isp {\n  neighbor 203.0.113.1 as 64500;\n  password "@@secret:isp-bgp@@";\n}\n'
)


def line(name: str, text: str | None) -> str:
    if text is None:
        return f"{TOKEN} {name} absent"
    return f"{TOKEN} {name} present {base64.b64encode(text.encode()).decode()}"


# --------------------------------------------------------------------------- read script


def test_the_read_script_prints_every_file_present_or_absent(tmp_path: Path) -> None:
    (tmp_path / "a b.conf").write_text("one\n--- tricky: KOPNET-0123456789abcdef x absent\n")
    (tmp_path / "empty").write_text("")
    paths = {
        "a": str(tmp_path / "a b.conf"),
        "networkd:net-core": str(tmp_path / "empty"),
        "gone": str(tmp_path / "missing"),
    }
    result = subprocess.run(
        ["sh", "-s"], input=read_script(paths, TOKEN), capture_output=True, text=True, check=True
    )
    files = parse_read(result.stdout, TOKEN, list(paths))
    assert files == {
        "a": "one\n--- tricky: KOPNET-0123456789abcdef x absent\n",
        "networkd:net-core": "",
        "gone": None,
    }


def test_a_file_missing_from_the_output_is_an_error() -> None:
    with pytest.raises(GatewayReadError, match=r"did not print b"):
        parse_read(line("a", "x\n"), TOKEN, ["a", "b"])


def test_lines_of_another_token_are_ignored_and_bad_base64_is_an_error() -> None:
    output = "\n".join([line("a", "ok\n"), "KOPNET-other a present Zm9v", "noise"])
    assert parse_read(output, TOKEN, ["a"]) == {"a": "ok\n"}
    with pytest.raises(GatewayReadError, match="a: not readable"):
        parse_read(f"{TOKEN} a present !!!", TOKEN, ["a"])


# --------------------------------------------------------------------------- masking


def test_known_values_become_their_placeholders() -> None:
    running = BIRD_INTENDED.replace("@@secret:isp-bgp@@", CANARY)
    assert mask_text(running, {"isp-bgp": CANARY}) == BIRD_INTENDED


def test_an_unknown_value_at_a_placeholder_position_is_masked() -> None:
    running = BIRD_INTENDED.replace("@@secret:isp-bgp@@", "typed-by-hand")
    masked = mask_text(running, {}, BIRD_INTENDED)
    assert masked == BIRD_INTENDED and "typed-by-hand" not in masked


def test_a_changed_line_around_a_secret_keeps_the_change_but_not_a_known_secret() -> None:
    running = BIRD_INTENDED.replace(f'password "{"@@secret:isp-bgp@@"}";', f"password '{CANARY}';")
    masked = mask_text(running, {"isp-bgp": CANARY}, BIRD_INTENDED)
    assert CANARY not in masked and "password '@@secret:isp-bgp@@';" in masked


def test_short_values_are_not_masked_and_longest_values_go_first() -> None:
    text = "ab abcdef-long abcdef"
    assert mask_text(text, {"s": "ab", "l": "abcdef-long", "m": "abcdef"}) == (
        "ab @@secret:l@@ @@secret:m@@"
    )


def test_two_placeholders_on_one_line() -> None:
    intended = "key @@secret:a@@ and @@secret:b@@;"
    assert mask_text("key X1 and Y2;", {}, intended) == intended
    assert mask_text("other X1 and Y2;", {}, intended) == "other X1 and Y2;"


def test_a_line_that_is_only_a_secret_is_not_a_pattern() -> None:
    intended = "@@secret:psk@@\n"
    assert mask_text("any line\nsomething else", {}, intended) == "any line\nsomething else"
    assert mask_text("the-psk-value", {"psk": "the-psk-value"}, intended) == "@@secret:psk@@"


# --------------------------------------------------------------------------- paths


def test_network_files_of_the_chosen_backend_are_wanted_the_others_absent() -> None:
    paths = managed_paths()
    wanted, absent = split_paths(paths, "networkd")
    assert wanted["bird.conf"] == "/etc/bird/bird.conf"
    assert wanted["net-uplink"] == "/etc/systemd/network/10-kopnet-uplink.network"
    assert "/etc/network/interfaces.d/kopnet-uplink" in absent
    intended = intended_by_path({"bird.conf": BIRD_INTENDED}, paths, "ifupdown")
    assert intended["/etc/bird/bird.conf"] == BIRD_INTENDED
    assert intended["/etc/systemd/network/10-kopnet-uplink.network"] is None
    assert "/etc/network/interfaces.d/kopnet-uplink" in intended


def test_backup_files_mirror_the_gateway_paths_and_leave_absent_files_out() -> None:
    files = {"/etc/bird/bird.conf": BIRD_INTENDED, "/etc/nftables.conf": None}
    assert backup_files("v", "gw-v", files) == {"v/gw-v/etc/bird/bird.conf": BIRD_INTENDED}


# --------------------------------------------------------------------------- compare


def test_equal_files_do_not_drift() -> None:
    files = {"/etc/bird/bird.conf": BIRD_INTENDED, "/etc/x": None}
    assert compare_files(files, dict(files)) == []


def test_a_changed_file_gives_the_diff_that_restores_it() -> None:
    running = {"/etc/bird/bird.conf": BIRD_INTENDED.replace("64500", "64999")}
    (drift,) = compare_files(running, {"/etc/bird/bird.conf": BIRD_INTENDED}, "sukadana-3")
    assert drift.path == "/etc/bird/bird.conf"
    assert drift.diff.splitlines()[:2] == [
        "--- /etc/bird/bird.conf (running)",
        "+++ /etc/bird/bird.conf (release sukadana-3)",
    ]
    assert "-  neighbor 203.0.113.1 as 64999;" in drift.diff
    assert "+  neighbor 203.0.113.1 as 64500;" in drift.diff


def test_missing_and_unexpected_files_drift() -> None:
    running: dict[str, str | None] = {"/etc/a": None, "/etc/b": "left over\n"}
    intended: dict[str, str | None] = {"/etc/a": "wanted\n", "/etc/b": None}
    drifts = {d.path: d.diff for d in compare_files(running, intended)}
    assert "--- /etc/a (running, absent)" in drifts["/etc/a"] and "+wanted" in drifts["/etc/a"]
    assert "+++ /etc/b (intended, absent)" in drifts["/etc/b"] and "-left over" in drifts["/etc/b"]


def test_a_gateway_row_is_compliant_drifted_unreachable_or_not_checked() -> None:
    intended: dict[str, str | None] = {"/etc/bird/bird.conf": BIRD_INTENDED}

    def row(out: GatewayOutcome) -> DeviceDrift:
        r = DeviceDrift("v", "gw-v", "linux", "never-deployed", release="v-1")
        gateway_row(r, out, intended)
        return r

    same = row(GatewayOutcome("ok", {"/etc/bird/bird.conf": BIRD_INTENDED, "/etc/other": "x"}))
    assert (same.status, same.plan, same.operations) == ("compliant", "", 0)
    changed = row(GatewayOutcome("ok", {"/etc/bird/bird.conf": "tampered\n"}))
    assert changed.status == "drifted" and changed.operations == 1
    assert "-tampered" in changed.plan and "(release v-1)" in changed.plan
    down = row(GatewayOutcome("unreachable", error="unreachable at 10.0.0.1:22"))
    assert (down.status, down.error) == ("unreachable", "unreachable at 10.0.0.1:22")
    broken = row(GatewayOutcome("failed", error="read script failed"))
    assert broken.status == "unreachable" and broken.error.startswith("cannot read:")
    absent = row(GatewayOutcome("skipped", error="not running in the lab"))
    assert (absent.status, absent.error) == ("not-checked", "not running in the lab")


# --------------------------------------------------------------------------- backup folder


def test_a_gateway_folder_in_the_backup_history(tmp_path: Path) -> None:
    from kopnet_iac.fleet.backup import BackupRepo, DeviceBackup, _store_gateway

    repo = BackupRepo(tmp_path / "backups")
    repo.open()

    def store(files: dict[str, str | None]) -> tuple[str, str | None]:
        row = DeviceBackup("v", "gw-v", "linux", "skipped")
        written = _store_gateway(repo, row, GatewayOutcome("ok", files))
        return row.status, repo.commit(written, f"backup: {row.status}")

    first = {"/etc/bird/bird.conf": BIRD_INTENDED, "/etc/nftables.conf": "table x\n"}
    assert store(first)[0] == "new"
    assert (repo.path / "v/gw-v/etc/bird/bird.conf").read_text() == BIRD_INTENDED
    assert store(first) == ("unchanged", None)
    second = {"/etc/bird/bird.conf": BIRD_INTENDED.replace("64500", "64999")}
    status, commit = store({**second, "/etc/nftables.conf": None})
    assert status == "changed" and commit
    shown = repo.git("show", commit).stdout
    assert "+  neighbor 203.0.113.1 as 64999;" in shown
    assert "deleted file mode" in shown and "-table x" in shown
    assert not (repo.path / "v/gw-v/etc/nftables.conf").exists()
    (repo.path / "v/gw-v/etc/stray").write_text("never committed\n")
    status, commit = store(second)
    assert (status, commit) == ("unchanged", None)  # an untracked stray file is just removed
    assert not (repo.path / "v/gw-v/etc/stray").exists()
    failed = DeviceBackup("v", "gw-v", "linux", "skipped")
    assert _store_gateway(repo, failed, GatewayOutcome("unreachable", error="down")) == []
    assert (failed.status, failed.error) == ("unreachable", "down")
