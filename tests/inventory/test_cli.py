"""``kopnet validate / inventory show / schema / addresses`` through click and as a process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kopnet_iac.cli.main import cli
from kopnet_iac.inventory.lockfile import LOCK_FILE
from kopnet_iac.inventory.secrets import encrypt_vault, env_var_name
from tests.conftest import REPO_ROOT, USER_INVENTORY
from tests.inventory.conftest import EXAMPLE, edit, position, village


def run(inv_dir: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["--inventory", str(inv_dir), *args], env=env)


def assert_clean_failure(result: Result) -> None:
    assert result.exit_code == 3, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


def test_validate_ok() -> None:
    result = run(EXAMPLE, "validate")
    assert result.exit_code == 0, result.output
    assert result.stdout == "inventory OK: 3 villages, 17 devices, 14 links, 7 hamlets\n"


def test_validate_json_ok() -> None:
    result = run(EXAMPLE, "validate", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["ok"] is True and doc["problems"] == []
    assert (doc["villages"], doc["devices"], doc["links"]) == (3, 17, 14)


def test_validate_reports_every_problem(inv_dir: Path) -> None:
    path = village(inv_dir, "sukadana")
    edit(path, "vlan: 102", "vlan: 99")
    edit(path, "frequency: 5745", "frequency: 5900")
    result = run(inv_dir, "validate")
    assert_clean_failure(result)
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{position(path, '5900')}: hamlets[0].sectors[0].frequency: 5900 MHz is outside the "
        "band allowed in Indonesia (5725-5825 MHz)",
        f"{position(path, 'vlan: 99', offset=6)}: hamlets[1].vlan: VLAN 99 is the management VLAN "
        "(fleet.management_vlan)",
        "2 problem(s) found",
    ]


def test_validate_json_problems(inv_dir: Path) -> None:
    path = village(inv_dir, "lebung-itam")
    edit(path, "bandwidth_mbps: 150", "bandwidth_mbps: 0")
    result = run(inv_dir, "validate", "--json")
    assert_clean_failure(result)
    doc = json.loads(result.stdout)
    assert doc["ok"] is False
    (problem,) = doc["problems"]
    line, column = position(path, "0\n").split(":")[-2:]
    assert problem["file"] == str(path)
    assert (problem["line"], problem["column"]) == (int(line), int(column))
    assert problem["field"] == "uplink.bandwidth_mbps"
    assert "greater than or equal to 1" in problem["message"]


@pytest.mark.parametrize(
    "breakage",
    ["missing-folder", "yaml-garbage", "binary", "villages-is-a-file", "empty-fleet"],
)
def test_validate_never_tracebacks(inv_dir: Path, breakage: str) -> None:
    target = inv_dir
    if breakage == "missing-folder":
        target = inv_dir / "nowhere"
    elif breakage == "yaml-garbage":
        village(inv_dir, "sukadana").write_text("id: [unclosed\n  - : :\n\t\n")
    elif breakage == "binary":
        (inv_dir / "fleet.yaml").write_bytes(b"\x00\xff\xfe garbage")
    elif breakage == "villages-is-a-file":
        shutil.rmtree(inv_dir / "villages")
        (inv_dir / "villages").write_text("oops")
    elif breakage == "empty-fleet":
        (inv_dir / "fleet.yaml").write_text("")
    result = run(target, "validate")
    assert_clean_failure(result)
    assert result.stderr.strip().endswith("problem(s) found")


def test_validate_as_a_process_exits_1_without_traceback(inv_dir: Path) -> None:
    edit(village(inv_dir, "pematang-panggang"), "  orbit: geo\n", "")
    proc = subprocess.run(
        [sys.executable, "-m", "kopnet_iac.cli.main", "--inventory", str(inv_dir), "validate"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
    )
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr
    assert "uplink.orbit: a vsat uplink needs 'orbit' (geo or leo)" in proc.stderr


def test_show_village_json() -> None:
    result = run(EXAMPLE, "inventory", "show", "sukadana", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    devices = {d["hostname"]: d for d in doc["devices"]}
    assert devices["core-sukadana"]["platform"] == "routeros"
    assert devices["core-sukadana"]["management"] == "10.90.0.129"
    assert devices["gw-sukadana"]["management"] == "10.91.0.17"  # its loopback
    assert devices["sec-sukadana-2"]["platform"] == "airos"
    assert doc["addressing"]["uplink"] == "172.30.0.0/31"
    assert [h["id"] for h in doc["hamlets"]] == ["dusun-1", "dusun-2"]
    assert doc["links"][0] == {
        "a": "gw-sukadana:enp2s0",
        "b": "core-sukadana:ether1",
        "radio": None,
    }


def test_show_village_tables() -> None:
    result = CliRunner().invoke(
        cli,
        ["--inventory", str(EXAMPLE), "inventory", "show", "lebung-itam"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    for text in (
        "Desa Lebung Itam",
        "bh-lebung-itam-a",
        "PowerBeam-5AC-Gen2",
        "10.90.0.2",
        "LDS-BH-LEBUNG 5775 MHz/40",
        "Dusun II Sungai Itam",
        "172.30.16.1/31",
    ):
        assert text in result.stdout, text


def test_show_unknown_village() -> None:
    result = run(EXAMPLE, "inventory", "show", "atlantis")
    assert_clean_failure(result)
    assert (
        "unknown village 'atlantis' (villages: lebung-itam, pematang-panggang, sukadana)"
        in result.stderr
    )


@pytest.mark.parametrize(
    ("kind", "keys"),
    [
        (
            "village",
            {
                "id",
                "name",
                "district",
                "location",
                "uplink",
                "devices",
                "links",
                "hamlets",
                "services",
            },
        ),
        ("fleet", {"fleet", "partner_isp", "noc", "radius", "plans", "pools", "secrets"}),
        ("hardware", {"models"}),
    ],
)
def test_schema(kind: str, keys: set[str]) -> None:
    result = CliRunner().invoke(cli, ["schema", kind])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert keys <= set(schema["properties"])
    for ref in json.dumps(schema).split('"$ref": "')[1:]:  # every reference resolves
        name = ref.split('"')[0].removeprefix("#/$defs/")
        assert name in schema["$defs"]


def test_schema_default_is_village_and_covers_the_example() -> None:
    schema = json.loads(CliRunner().invoke(cli, ["schema"]).stdout)
    assert schema["title"].startswith("KopNet village file")
    assert set(schema["required"]) >= {"id", "name", "devices", "hamlets", "services"}
    device = schema["$defs"]["Device"]
    assert device["additionalProperties"] is False
    assert device["properties"]["role"]["enum"] == [
        "gateway",
        "core-router",
        "backhaul-radio",
        "sector-radio",
    ]
    import yaml

    example = yaml.safe_load(village(EXAMPLE, "lebung-itam").read_text())
    assert set(example) <= set(schema["properties"])
    for d in example["devices"]:
        assert set(d) <= set(device["properties"])


def test_addresses_update_dry_run_then_real(inv_dir: Path) -> None:
    text = village(inv_dir, "sukadana").read_text()
    new = text.replace("id: sukadana", "id: talang")
    for prefix in ("gw", "core", "sec"):
        new = new.replace(f"{prefix}-sukadana", f"{prefix}-talang")
    new = new.replace("serial: ", "serial: T")
    village(inv_dir, "talang").write_text(new)
    lock_before = (inv_dir / LOCK_FILE).read_text()

    assert_clean_failure(run(inv_dir, "validate"))
    dry = run(inv_dir, "addresses", "update", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would add: talang: management 10.90.0.192/26" in dry.stdout
    assert (inv_dir / LOCK_FILE).read_text() == lock_before

    real = run(inv_dir, "addresses", "update")
    assert real.exit_code == 0, real.output
    assert "added: talang: device core-talang 10.90.0.193" in real.stdout
    assert "updated: review and commit it" in real.stdout
    lock_after = (inv_dir / LOCK_FILE).read_text()
    assert lock_after.startswith(lock_before.split("  sukadana:")[0])  # earlier villages unchanged
    assert run(inv_dir, "validate").exit_code == 0
    again = run(inv_dir, "addresses", "update")
    assert again.stdout.strip() == f"{LOCK_FILE} is up to date"


def test_addresses_update_prune(inv_dir: Path) -> None:
    village(inv_dir, "sukadana").unlink()
    ok = run(inv_dir, "validate")
    assert ok.exit_code == 0 and "still holds sukadana" in ok.stdout
    kept = run(inv_dir, "addresses", "update")
    assert "sukadana" in (inv_dir / LOCK_FILE).read_text() and kept.exit_code == 0
    pruned = run(inv_dir, "addresses", "update", "--prune")
    assert "released: sukadana: village no longer in the inventory" in pruned.stdout
    assert "sukadana" not in (inv_dir / LOCK_FILE).read_text()


def test_addresses_show() -> None:
    one = run(EXAMPLE, "addresses", "show", "pematang-panggang", "--json")
    assert one.exit_code == 0
    doc = json.loads(one.stdout)
    assert doc["uplink"] == "172.30.32.0/31" and doc["hotspot"]["dusun-3"] == "100.64.6.129/26"
    every = json.loads(run(EXAMPLE, "addresses", "show", "--json").stdout)
    assert sorted(every) == ["lebung-itam", "pematang-panggang", "sukadana"]
    table = CliRunner().invoke(
        cli, ["--inventory", str(EXAMPLE), "addresses", "show"], env={"COLUMNS": "150"}
    )
    assert "Addressing of lebung-itam" in table.stdout and "100.64.0.0/22" in table.stdout
    assert_clean_failure(run(EXAMPLE, "addresses", "show", "atlantis"))


def test_no_secret_value_in_any_output(inv_dir: Path) -> None:
    """Every secret has a value in the environment or the vault; none may be printed."""
    fleet_text = (inv_dir / "fleet.yaml").read_text()
    import yaml

    names = list(yaml.safe_load(fleet_text)["secrets"])
    env = {env_var_name(n): f"fake-env-{i}-zq" for i, n in enumerate(names[::2])}
    vault_values = {n: f"fake-vault-{i}-zq" for i, n in enumerate(names)}
    (inv_dir / "fleet.vault").write_bytes(encrypt_vault(vault_values, "fake-pw-zq"))
    env["KOPNET_VAULT_PASSWORD"] = "fake-pw-zq"
    outputs = []
    for args in (
        ["validate"],
        ["validate", "--json"],
        ["addresses", "show"],
        ["addresses", "show", "--json"],
        *(["inventory", "show", v] for v in ("sukadana", "lebung-itam", "pematang-panggang")),
        *(
            ["inventory", "show", v, "--json"]
            for v in ("sukadana", "lebung-itam", "pematang-panggang")
        ),
    ):
        result = run(inv_dir, *args, env={**env, "COLUMNS": "300"})
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    edit(village(inv_dir, "sukadana"), "vlan: 102", "vlan: 101")
    outputs.append(run(inv_dir, "validate", env=env).output)
    text = "\n".join(outputs)
    assert "core-admin" in text  # secret *names* may show
    assert "-zq" not in text
    assert os.environ.get("KOPNET_VAULT_PASSWORD") is None or "zq" not in text


@pytest.mark.parametrize("kind", ["village", "fleet", "hardware", "lock"])
def test_committed_schema_files_are_current(kind: str) -> None:
    """inventory/schema/*.json (referenced by the files' yaml-language-server lines) ship with the
    product for editors, so they are checked where users get them and in the suite's fleet copy."""
    result = CliRunner().invoke(cli, ["schema", kind])
    for root in (USER_INVENTORY, EXAMPLE):
        committed = (root / "schema" / f"{kind}.json").read_text()
        assert json.loads(committed) == json.loads(result.stdout), (
            f"regenerate with: kopnet schema {kind} > {root.relative_to(REPO_ROOT)}/schema/{kind}.json"
        )
    first = (
        {
            "village": village(EXAMPLE, "sukadana"),
            "fleet": EXAMPLE / "fleet.yaml",
            "hardware": EXAMPLE / "hardware.yaml",
            "lock": EXAMPLE / LOCK_FILE,
        }[kind]
        .read_text()
        .splitlines()[0]
    )
    assert first.startswith("# yaml-language-server: $schema=") and first.endswith(
        f"schema/{kind}.json"
    )


def test_update_rewrites_a_hand_formatted_lock(inv_dir: Path) -> None:
    lock = inv_dir / LOCK_FILE
    lock.write_text(
        lock.read_text().replace("# yaml-language-server", "#  hand edited\n# yaml-language-server")
    )
    result = run(inv_dir, "addresses", "update")
    assert result.stdout.strip() == f"{LOCK_FILE} is up to date (rewritten in canonical form)"
    assert lock.read_text() == (EXAMPLE / LOCK_FILE).read_text()


def test_show_a_village_without_allocation(inv_dir: Path) -> None:
    text = village(inv_dir, "sukadana").read_text().replace("id: sukadana", "id: talang")
    for prefix in ("gw", "core", "sec"):
        text = text.replace(f"{prefix}-sukadana", f"{prefix}-talang")
    village(inv_dir, "talang").write_text(text.replace("serial: ", "serial: T"))
    result = CliRunner().invoke(
        cli, ["--inventory", str(inv_dir), "inventory", "show", "talang"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "no address allocation" in result.stdout and "kopnet addresses update" in result.stdout
    doc = json.loads(run(inv_dir, "inventory", "show", "talang", "--json").stdout)
    assert doc["addressing"] is None
    assert {d["management"] for d in doc["devices"]} == {None}


def test_addresses_update_fails_when_a_pool_is_full(inv_dir: Path) -> None:
    edit(
        inv_dir / "fleet.yaml", "prefix: 198.18.0.0/17, size: 29", "prefix: 198.18.0.0/28, size: 29"
    )
    edit(inv_dir / LOCK_FILE, "public-nat: 198.18.0.16/29", "public-nat: 198.18.0.99/29")
    before = (inv_dir / LOCK_FILE).read_text()
    assert_clean_failure(run(inv_dir, "validate"))
    result = run(inv_dir, "addresses", "update")
    assert_clean_failure(result)
    assert "error: sukadana: no free block for public-nat (pools: ['public-nat'])" in result.stderr
    assert (inv_dir / LOCK_FILE).read_text() == before  # all or nothing
