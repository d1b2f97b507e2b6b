"""Where KopNet's own files live: templates, playbooks, roles and Ansible plugins.

The repository keeps ``templates/``, ``playbooks/`` and ``roles/`` at its top level. A wheel
carries copies of them as package data under ``kopnet_iac/_data/`` (copied at build time by
``setup.py``). Lookup order for each folder:

1. the repository checkout this package runs from (an editable install or ``PYTHONPATH``),
   so an engineer's edits are used at once;
2. the copy shipped inside the installed package, found through :mod:`importlib.resources`.

Ansible plugins are ordinary package modules (``kopnet_iac.platforms.linux.ansible_plugins``)
and are found the same way in both cases.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from kopnet_iac.errors import KopnetError

log = logging.getLogger(__name__)

# folder name -> a file that proves the folder is the real one (not an unrelated folder)
_MARKERS = {
    "templates": "manifest.yaml",
    "playbooks": "gateway.yml",
    "roles": "gateway",
}


class ResourceError(KopnetError):
    """A folder the package ships (templates, playbooks, roles) cannot be found."""


def checkout_root() -> Path | None:
    """The repository checkout this package is imported from, None when installed."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "templates" / "manifest.yaml").is_file():
        return root
    return None


def _package_dir(*parts: str) -> Path:
    """A folder inside the installed package, as a real directory on disk."""
    node = resources.files("kopnet_iac")
    for part in parts:
        node = node.joinpath(part)
    # Wheels install unpacked, so the traversable is a filesystem path; a zipped install
    # (zipapp, egg) is not supported because Jinja2 and Ansible need real folders.
    path = Path(str(node))
    if not path.is_dir():
        raise ResourceError(
            f"package data folder {'/'.join(parts)} is missing from the installed kopnet_iac "
            f"(looked in {path}); reinstall the package from a wheel built by setup.py"
        )
    return path


def data_dir(name: str) -> Path:
    """``templates``, ``playbooks`` or ``roles``: the checkout's folder, else the shipped copy."""
    if name not in _MARKERS:
        raise ValueError(f"unknown data folder {name!r}")
    root = checkout_root()
    if root is not None and (root / name / _MARKERS[name]).exists():
        return root / name
    path = _package_dir("_data", name)
    if not (path / _MARKERS[name]).exists():
        raise ResourceError(f"package data folder {path} lacks {_MARKERS[name]}")
    log.debug("using packaged %s at %s", name, path)
    return path


def templates_dir() -> Path:
    """The project's Jinja2 templates (``templates/manifest.yaml`` and the platform folders)."""
    return data_dir("templates")


def playbooks_dir() -> Path:
    """The gateway playbooks (``gateway.yml``, ``site.yml``, ...)."""
    return data_dir("playbooks")


def roles_dir() -> Path:
    """The Ansible roles (``gateway``)."""
    return data_dir("roles")


def ansible_plugins_dir() -> Path:
    """KopNet's Ansible plugins (``inventory/``, ``lookup/``), a package of this project."""
    return _package_dir("platforms", "linux", "ansible_plugins")
