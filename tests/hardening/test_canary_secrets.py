"""Canary campaign: no secret value ever reaches an output, a log or a file the project writes.

Every secret of the example fleet gets a unique canary value (``KOPNET_SECRET_<NAME>``, and
the same values in an ansible-vault file). Every command that touches secrets runs against a
private workspace (inventory in a git repository, state, lab, build and temp folders), with
debug logging on; then every file the project wrote and every byte of output is searched for
every canary. Zero hits is the only pass.

Adding a command (deploy, backup, report ...) is one line in :data:`STEPS` (a kopnet command
line, with ``{placeholders}`` from :class:`Workspace`) or :data:`CALLS` (a Python call whose
result, exception and log records are searched).

A positive control proves the search works: ``routeros diff --show-sensitive`` must print
the canaries it was given.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from ansible.parsing.vault import VaultLib, VaultSecret

from kopnet_iac.errors import KopnetError
from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.inventory.secrets import encrypt_vault, env_var_name, substitute_secrets
from kopnet_iac.render.renderer import Renderer
from tests.addresses import claim_lab_prefix
from tests.conftest import EXAMPLE_FLEET, REPO_ROOT

REPO = Path(REPO_ROOT)
VILLAGE = "sukadana"
CORE = "core-sukadana"
VAULT_PW = "fake-campaign-vault-pw"
LAB_PREFIX = claim_lab_prefix()


@dataclass(frozen=True)
class Step:
    """One kopnet command line; ``expect`` is the exit code, or ``None`` for "any"."""

    name: str
    argv: tuple[str, ...]
    expect: int | None = 0
    env: tuple[tuple[str, str], ...] = ()


STEPS: list[Step] = [
    Step("validate", ("-vv", "validate")),
    Step("validate-json", ("validate", "--json")),
    Step("inventory-show", ("-vv", "inventory", "show", VILLAGE)),
    Step("render", ("-vv", "render", "--all", "--out", "{build}")),
    Step("render-json", ("render", VILLAGE, "--out", "{build}", "--json")),
    Step("diff", ("-vv", "diff", "--base", "HEAD"), None),
    Step("diff-json", ("diff", "--base", "HEAD", "--format", "json"), None),
    Step("diff-markdown", ("diff", "--base", "HEAD", "--format", "markdown"), None),
    Step("ansible-inventory", ("-vv", "ansible-inventory")),
    Step("routeros-check", ("-vv", "routeros", "check", "{intended}", "{running}")),
    Step("routeros-diff", ("-vv", "routeros", "diff", "{running}", "{intended}"), None),
    Step("routeros-diff-revert", ("routeros", "diff", "--revert", "{running}", "{intended}"), None),
    Step("routeros-diff-json", ("routeros", "diff", "--json", "{running}", "{intended}"), None),
    Step(
        "routeros-diff-hidden",
        ("routeros", "diff", "--running-hides-sensitive", "{running}", "{intended}"),
        None,
    ),
    Step("routeros-lint", ("-vv", "routeros", "lint", "{intended}"), None),
    Step("routeros-lint-running", ("routeros", "lint", "{running}"), None),
    Step("routeros-check-broken", ("-vv", "routeros", "check", "{broken}"), 3),
    Step("routeros-diff-broken", ("routeros", "diff", "{running}", "{broken}"), None),
    Step("routeros-lint-broken", ("routeros", "lint", "{broken}"), None),
    Step("hostkey-list", ("hostkey", "list")),
    Step("history", ("-vv", "history")),
    Step("lock-list", ("lock", "list", "--json")),
    Step("lab-up", ("-vv", "lab", "up", VILLAGE, "--no-gateways")),
    Step("lab-status", ("lab", "status")),
    Step("lab-status-json", ("lab", "status", "--json")),
    Step("lab-log", ("lab", "log", CORE)),
    Step("lab-down", ("lab", "down")),
    Step("validate-bad-vault", ("-vv", "--inventory", "{bad_inventory}", "validate"), None),
]

# As root (namespaces): the Linux gateway in the lab, configured with Ansible and verified.
GATEWAY_STEPS: list[Step] = [
    Step("lab-up-gateway", ("-vv", "lab", "up", VILLAGE)),
    Step("gateway-apply", ("-vv", "gateway", "apply", VILLAGE, "--lab")),
    Step("verify", ("-vv", "verify", VILLAGE, "--lab"), None),
    Step("verify-json", ("verify", VILLAGE, "--lab", "--json"), None),
    Step("lab-down-gateway", ("lab", "down")),
]


@dataclass
class Workspace:
    """Everything the campaign gives the project: it may write only under ``root``."""

    root: Path
    canaries: dict[str, str]  # secret name -> canary value
    old_canaries: dict[str, str]  # the values "running" on the device before
    inputs: set[Path] = field(default_factory=set)  # files the test wrote (not searched)

    @property
    def placeholders(self) -> dict[str, str]:
        work = self.root / "work"
        return {
            "build": str(self.root / "build"),
            "intended": str(work / f"{CORE}.intended.rsc"),
            "running": str(work / f"{CORE}.running.rsc"),
            "broken": str(work / f"{CORE}.broken.rsc"),
            "inventory": str(self.root / "repo" / "inventory"),
            "bad_inventory": str(self.root / "bad" / "inventory"),
        }

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith("KOPNET_")}
        env = {
            **keep,
            "KOPNET_INVENTORY": str(self.root / "repo" / "inventory"),
            "KOPNET_STATE": str(self.root / "state"),
            "KOPNET_LAB_DIR": str(self.root / "lab"),
            "KOPNET_LAB_PREFIX": LAB_PREFIX,
            "KOPNET_VAULT_PASSWORD": VAULT_PW,
            "TMPDIR": str(self.root / "tmp"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        env.update({env_var_name(name): value for name, value in self.canaries.items()})
        return env

    def all_canaries(self) -> list[str]:
        """What the search looks for: the unique head of every canary."""
        return [_needle(c) for c in (*self.canaries.values(), *self.old_canaries.values())]


def _canary(name: str) -> str:
    # Letters and digits only (found verbatim whatever escaping a format applies). The search
    # looks for the unique 12-character head, so a message that shows only the start of a
    # value (a token cut at 20 characters) is caught too.
    return f"{_head()}{name.replace('-', '')}"


def _head() -> str:
    return "Cy" + secrets.token_hex(5)


def _needle(canary: str) -> str:
    return canary[:12]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        check=True,
        capture_output=True,
    )


def _write_input(ws: Workspace, path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    ws.inputs.add(path)


def _make_workspace(root: Path) -> Workspace:
    inv_src = EXAMPLE_FLEET
    fleet = load_inventory(inv_src).fleet
    ws = Workspace(
        root,
        {name: _canary(name) for name in fleet.secrets},
        {name: _canary("old" + name) for name in fleet.secrets},
    )
    for sub in ("work", "state", "lab", "tmp", "build", "bad"):
        (root / sub).mkdir(parents=True)
    repo = root / "repo"
    shutil.copytree(inv_src, repo / "inventory")
    shutil.copytree(REPO / "templates", repo / "templates")
    (repo / "inventory" / "fleet.vault").write_bytes(encrypt_vault(ws.canaries, VAULT_PW))
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "fleet")
    village = repo / "inventory" / "villages" / f"{VILLAGE}.yaml"
    village.write_text(village.read_text().replace("KopNet-Sukadana-1,", "KopNet-Sukadana-1b,"))
    # an inventory whose vault decrypts to malformed YAML quoting the canaries
    shutil.copytree(inv_src, root / "bad" / "inventory")
    plain = "".join(f"{k}: [{v}\n" for k, v in ws.canaries.items())
    vault = VaultLib([("default", VaultSecret(VAULT_PW.encode()))])
    (root / "bad" / "inventory" / "fleet.vault").write_bytes(vault.encrypt(plain))
    # the core router's config with its secrets in, as a push would send it
    inv = load_inventory(repo / "inventory")
    [core] = [
        a for a in Renderer(repo / "templates").render_villages(inv, [VILLAGE]) if a.host == CORE
    ]
    env = {env_var_name(k): v for k, v in ws.canaries.items()}
    old_env = {env_var_name(k): v for k, v in ws.old_canaries.items()}
    intended = substitute_secrets(inv, core.text, env, platform="routeros")
    running = substitute_secrets(inv, core.text, old_env, platform="routeros")
    places = ws.placeholders
    _write_input(ws, Path(places["intended"]), intended)
    _write_input(ws, Path(places["running"]), running)
    broken = (
        "\n".join(
            line.replace('="' + value, '="' + value + "\\", 1)
            for line in intended.splitlines()
            for value in [next((v for v in ws.canaries.values() if v in line), "")]
        )
        + "\n/ip address\nadd comment=[ find name="
        + next(iter(ws.canaries.values()))
        + "\n"
    )
    _write_input(ws, Path(places["broken"]), broken)
    assert sum(v in intended for v in ws.canaries.values()) >= 3, "too few secrets rendered"
    return ws


@dataclass
class Outcome:
    name: str
    code: int | None
    output: str


def _run_step(ws: Workspace, step: Step) -> Outcome:
    argv = [part.format(**ws.placeholders) for part in step.argv]
    env = {**ws.env(), **dict(step.env)}
    result = subprocess.run(
        [sys.executable, "-m", "kopnet_iac.cli.main", *argv],
        cwd=ws.root / "work",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if step.expect is not None:
        assert result.returncode == step.expect, (
            f"{step.name}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    assert "Traceback" not in result.stderr, f"{step.name}: traceback\n{result.stderr}"
    return Outcome(step.name, result.returncode, result.stdout + result.stderr)


# ----------------------------------------------------------------------------- Python calls


def _call_plan_many(ws: Workspace) -> object:
    from kopnet_iac.platforms.routeros import plan_many

    p = ws.placeholders
    texts = {k: Path(p[k]).read_text() for k in ("running", "intended", "broken")}
    pairs = [
        (texts["running"], texts["intended"]),
        (texts["running"], texts["broken"]),
        (texts["broken"], texts["intended"]),
        (texts["intended"], texts["intended"] + texts["intended"]),  # duplicate entries
    ]
    results = plan_many(pairs, workers=1, hosts=[CORE] * 4)
    assert not results[1].ok and not results[2].ok and not results[3].ok
    return [(r.error, r.error_kind, r.operations) for r in results]


def _call_bad_vault(ws: Workspace) -> object:
    from kopnet_iac.inventory.secrets import resolve_secret

    inv = load_inventory(Path(ws.placeholders["bad_inventory"]))
    return resolve_secret(inv, "gw-admin", {"KOPNET_VAULT_PASSWORD": VAULT_PW})


def _call_nornir_bad_vault(ws: Workspace) -> object:
    from kopnet_iac.inventory.nornir_plugin import KopnetInventory

    os.environ.pop(env_var_name("core-admin"), None)
    hosts = KopnetInventory(ws.placeholders["bad_inventory"]).load().hosts
    return {name: (repr(host), dict(host.data)) for name, host in hosts.items()}


def _call_nornir(ws: Workspace) -> object:
    from kopnet_iac.inventory.nornir_plugin import KopnetInventory

    hosts = KopnetInventory(ws.placeholders["inventory"]).load().hosts
    assert any(h.password in ws.canaries.values() for h in hosts.values())  # resolved...
    return {name: (repr(host), dict(host.data)) for name, host in hosts.items()}  # ...not shown


def _call_gateway_files(ws: Workspace) -> object:
    from kopnet_iac.platforms.linux.files import push_text, rendered_files

    inv = load_inventory(Path(ws.placeholders["inventory"]))
    files = rendered_files(inv, VILLAGE, f"gw-{VILLAGE}")
    return {name: push_text(inv, text) for name, text in files.items()}


def _call_release_store(ws: Workspace) -> object:
    # what a deploy records: the rendered configs, the running config read from the device
    # (with show-sensitive: secrets in it), the plan, an error quoting device text
    from kopnet_iac.platforms.routeros import parse_export, plan
    from kopnet_iac.state import ReleaseStore

    p = ws.placeholders
    running, intended = Path(p["running"]).read_text(), Path(p["intended"]).read_text()
    the_plan = plan(parse_export(running), parse_export(intended))
    inv = load_inventory(Path(p["inventory"]))
    rendered = {
        a.path: a.text
        for a in Renderer(ws.root / "repo" / "templates").render_villages(inv, [VILLAGE])
    }
    with ReleaseStore.open(ws.root / "state") as store:
        with store.lock(VILLAGE, operator="campaign", purpose="deploy"):
            rid = store.begin_release(
                VILLAGE, kind="deploy", operator="campaign", git_revision=None,
                git_dirty=True, rendered=rendered,
            )  # fmt: skip
            store.journal(rid, "apply", host=CORE, detail={"plan": the_plan.script()})
            store.record_device(
                rid, CORE, platform="routeros", running_before=running,
                plan=the_plan.script(), revert_plan=the_plan.revert_script(),
                outcome="failed", error=f"device said: bad value in {intended[-300:]}",
            )  # fmt: skip
            store.finish_release(rid, "failed", error="apply failed")
        release = store.get_release(rid)
        # the HTML report every deploy writes beside the store, from that same release
        from kopnet_iac.report.release import write_release_report

        page = ws.root / "state" / "reports" / f"{rid}.html"
        write_release_report(store, rid, page, inventory=inv)
    return (release.devices, release.journal, page.read_text())


CALLS: list[tuple[str, Callable[[Workspace], object]]] = [
    ("plan-many", _call_plan_many),
    ("bad-vault", _call_bad_vault),
    ("nornir-bad-vault", _call_nornir_bad_vault),
    ("nornir", _call_nornir),
    ("gateway-files", _call_gateway_files),
    ("release-store", _call_release_store),
]


def _run_call(ws: Workspace, name: str, call: Callable[[Workspace], object]) -> Outcome:
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    saved = dict(os.environ)
    os.environ.update(ws.env())
    try:
        try:
            shown = repr(call(ws))
        except KopnetError as exc:
            shown = "".join(traceback.format_exception(exc)) + repr(vars(exc))
    finally:
        os.environ.clear()
        os.environ.update(saved)
        root.removeHandler(handler)
        root.setLevel(old_level)
    return Outcome(name, None, shown + "\n".join(records))


# ----------------------------------------------------------------------------- the campaign


def _files_written(ws: Workspace) -> Iterator[Path]:
    for path in sorted(ws.root.rglob("*")):
        if path.is_file() and not path.is_symlink() and path not in ws.inputs:
            yield path


def _leaks(ws: Workspace, outcomes: list[Outcome]) -> list[str]:
    found: list[str] = []
    canaries = ws.all_canaries()
    for outcome in outcomes:
        for canary in canaries:
            if canary in outcome.output:
                found.append(f"output of {outcome.name}: {canary}")
    for path in _files_written(ws):
        data = path.read_bytes()
        for canary in canaries:
            if canary.encode() in data:
                found.append(f"file {path.relative_to(ws.root)}: {canary}")
    return found


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = _make_workspace(tmp_path_factory.mktemp("canary"))
    try:
        yield ws
    finally:
        subprocess.run(
            [sys.executable, "-m", "kopnet_iac.cli.main", "lab", "down"],
            env=ws.env(),
            cwd=ws.root / "work",
            capture_output=True,
            timeout=60,
        )


@pytest.mark.lab
def test_no_canary_in_any_output_or_file(workspace: Workspace) -> None:
    outcomes = [_run_step(workspace, step) for step in STEPS]
    outcomes += [_run_call(workspace, name, call) for name, call in CALLS]
    # the steps did what they are for (otherwise finding nothing proves nothing)
    build = Path(workspace.placeholders["build"])
    assert (build / VILLAGE / f"{CORE}.rsc").is_file()
    assert list((workspace.root / "lab").rglob("*")), "the lab wrote nothing"
    by_name = {o.name: o for o in outcomes}
    assert "changed" in by_name["diff"].output or "sec-sukadana-1" in by_name["diff"].output
    assert "********" in by_name["routeros-diff"].output  # the secrets differ: a plan, masked
    assert "unterminated string" in by_name["routeros-check-broken"].output
    assert "line" in by_name["bad-vault"].output and "fleet.vault" in by_name["bad-vault"].output
    assert list((workspace.root / "state" / "reports").glob("*.html")), "no release report"
    leaks = _leaks(workspace, outcomes)
    assert not leaks, "secret values leaked:\n" + "\n".join(leaks)


@pytest.mark.root
@pytest.mark.lab
def test_no_canary_from_the_gateway_lab(workspace: Workspace) -> None:
    outcomes = [_run_step(workspace, step) for step in GATEWAY_STEPS]
    by_name = {o.name: o for o in outcomes}
    assert "gateway gw-sukadana up" in by_name["lab-up-gateway"].output
    assert "PASS" in by_name["verify"].output
    leaks = _leaks(workspace, outcomes)
    assert not leaks, "secret values leaked:\n" + "\n".join(leaks)


def test_positive_control_the_search_finds_shown_secrets(workspace: Workspace) -> None:
    shown = _run_step(
        workspace,
        Step("show", ("routeros", "diff", "--show-sensitive", "{running}", "{intended}"), None),
    )
    assert _leaks(workspace, [shown]), "--show-sensitive printed no canary: the search is blind"
    probe = workspace.root / "state" / "probe.txt"
    probe.write_text(f"x {workspace.canaries['core-admin']} y")
    try:
        assert any("probe.txt" in leak for leak in _leaks(workspace, []))
    finally:
        probe.unlink()


def test_every_declared_secret_has_a_canary_in_the_rendered_fleet(workspace: Workspace) -> None:
    inv = load_inventory(workspace.root / "repo" / "inventory")
    artifacts = Renderer(workspace.root / "repo" / "templates").render_villages(
        inv, sorted(inv.villages)
    )
    used = {name for a in artifacts for name in inv.fleet.secrets if f"@@secret:{name}@@" in a.text}
    # gw-admin is an SSH login (never rendered); every other secret lands in some config
    assert set(workspace.canaries) - used <= {"gw-admin"}
