"""Build step: ship the top-level ``templates/``, ``playbooks/`` and ``roles/`` in the wheel.

The repository keeps these folders at its top level (the layout engineers edit). A wheel must
carry them too, so that an installed ``kopnet`` finds them without a checkout: ``build_py``
copies them into ``kopnet_iac/_data/`` inside the build tree, where
``kopnet_iac.resources`` looks for them through ``importlib.resources``. Everything else is
declared in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
DATA_FOLDERS = ("templates", "playbooks", "roles")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


class BuildPyWithData(build_py):
    """``build_py`` that also copies the data folders into ``kopnet_iac/_data``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's own folders
        target = Path(self.build_lib) / "kopnet_iac" / "_data"
        for name in DATA_FOLDERS:
            source = HERE / name
            if not source.is_dir():
                raise FileNotFoundError(f"{source} is missing: cannot build the package data")
            dest = target / name
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(source, dest, ignore=IGNORE)


setup(cmdclass={"build_py": BuildPyWithData})
