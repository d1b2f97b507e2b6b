"""Install as users do: build the wheel, install it in a fresh virtualenv elsewhere, use it.

The wheel is built from a copy of the source (so the checkout gets no ``build/`` or
``*.egg-info``), offline (``--no-build-isolation``, setuptools comes from the dev extras) and
installed with ``--no-deps`` into a new virtualenv; the project's own virtualenv provides the
dependencies through a ``.pth`` line (a path line only: its editable-install hooks are not run,
so ``kopnet_iac`` can only come from the wheel, which the tests assert). Everything then runs
from a folder outside the checkout, with a copy of the example fleet beside no ``templates/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.render.renderer import render_inventory
from tests.conftest import EXAMPLE_FLEET, REPO_ROOT

REPO = Path(REPO_ROOT)
SOURCES = (
    "kopnet_iac",
    "napalm_kopnet_routeros",
    "napalm_kopnet_airos",
    "templates",
    "playbooks",
    "roles",
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
)
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache")


@dataclass(frozen=True)
class Installed:
    venv: Path
    python: Path
    kopnet: Path
    site: Path
    work: Path  # a folder outside the checkout to run from


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _run(cmd: list[str | Path], cwd: Path, timeout: int = 180) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=IGNORE)
        else:
            shutil.copy2(path, src / name)
    dist = base / "dist"
    _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "--wheel-dir", dist, src],
        cwd=base,
    )  # fmt: skip
    wheels = list(dist.glob("kopnet_iac-*.whl"))
    assert len(wheels) == 1, wheels
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=base)
    python = venv / "bin" / "python"
    _run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
         "--no-index", wheels[0]],
        cwd=base,
    )  # fmt: skip
    site = Path(
        _run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=base
        ).stdout.strip()
    )
    # dependencies from the project's virtualenv, after the wheel's own site-packages
    (site / "zz_kopnet_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = base / "elsewhere"
    work.mkdir()
    return Installed(venv, python, venv / "bin" / "kopnet", site, work)


def _resources(inst: Installed) -> dict[str, str]:
    code = (
        "import json, kopnet_iac, kopnet_iac.resources as r\n"
        "from kopnet_iac.platforms.linux import ansible\n"
        "print(json.dumps({'package': kopnet_iac.__file__, 'checkout': str(r.checkout_root()),\n"
        " 'templates': str(r.templates_dir()), 'playbooks': str(ansible.PLAYBOOKS_DIR),\n"
        " 'roles': str(ansible.ROLES_DIR), 'plugins': str(ansible.PLUGINS_DIR),\n"
        " 'env': ansible.runner_env()}))\n"
    )
    return dict(json.loads(_run([inst.python, "-c", code], cwd=inst.work).stdout))


def test_the_wheel_carries_templates_playbooks_roles_and_plugins(installed: Installed) -> None:
    found = _resources(installed)
    site = str(installed.site)
    assert found["package"].startswith(site), "kopnet_iac must come from the wheel"
    assert found["checkout"] == "None"
    data = installed.site / "kopnet_iac" / "_data"
    assert found["templates"] == str(data / "templates")
    assert found["playbooks"] == str(data / "playbooks")
    assert found["roles"] == str(data / "roles")
    assert found["plugins"].startswith(site)
    for folder in ("templates", "playbooks", "roles"):
        shipped = sorted(
            str(p.relative_to(data / folder))
            for p in (data / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        )
        ours = sorted(
            str(p.relative_to(REPO / folder))
            for p in (REPO / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        )
        assert shipped == ours, f"{folder}/ differs between the checkout and the wheel"
    plugins = Path(found["plugins"])
    assert (plugins / "inventory" / "kopnet.py").is_file()
    assert (plugins / "lookup" / "kopnet_password.py").is_file()
    assert found["env"]["ANSIBLE_ROLES_PATH"] == str(data / "roles")


def test_installed_kopnet_renders_the_example_fleet_like_the_checkout(
    installed: Installed, tmp_path: Path
) -> None:
    inventory = installed.work / "fleet"
    if not inventory.exists():
        shutil.copytree(EXAMPLE_FLEET, inventory)
    out = tmp_path / "out"
    proc = _run(
        [installed.kopnet, "--inventory", inventory, "render", "--all", "--out", out],
        cwd=installed.work,
    )
    assert "rendered" in proc.stdout
    produced = {
        str(p.relative_to(out)): p.read_text()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != ".kopnet-build.json"  # the build's own manifest
    }
    expected = {f"{a.path}": a.text for a in render_inventory(load_inventory(EXAMPLE_FLEET))}
    assert produced, "nothing rendered"
    assert produced == expected


def test_installed_playbooks_find_their_roles(installed: Installed) -> None:
    found = _resources(installed)
    env = {**_env(), **found["env"]}
    playbook = Path(found["playbooks"]) / "gateway.yml"
    proc = subprocess.run(
        [str(installed.python), "-m", "ansible.cli.playbook", "--syntax-check",
         "-i", "localhost,", str(playbook)],
        cwd=installed.work, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "gateway.yml" in proc.stdout
