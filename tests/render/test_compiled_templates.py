"""Compiled templates are shared by every environment of the process, never when stale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kopnet_iac.platforms.linux.ansible import new_run_folder
from kopnet_iac.render.environment import make_environment


def _no_compile(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("compiled again")


def test_a_second_environment_reuses_the_compiled_template(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("id {{ value }}\n")
    first = make_environment(tmp_path)
    assert first.get_template("t.j2").render(value=1) == "id 1\n"
    second = make_environment(tmp_path)
    second.compile = _no_compile  # type: ignore[method-assign]
    assert second.get_template("t.j2").render(value=2) == "id 2\n"


def test_an_edited_template_is_compiled_again(tmp_path: Path) -> None:
    path = tmp_path / "t.j2"
    path.write_text("aaa {{ value }}\n")
    assert make_environment(tmp_path).get_template("t.j2").render(value=1) == "aaa 1\n"
    path.write_text("bbb {{ value }}\n")  # same size
    assert make_environment(tmp_path).get_template("t.j2").render(value=1) == "bbb 1\n"


def test_same_name_in_another_folder_is_another_template(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "t.j2").write_text(f"{name}\n")
    assert make_environment(tmp_path / "a").get_template("t.j2").render() == "a\n"
    assert make_environment(tmp_path / "b").get_template("t.j2").render() == "b\n"


def test_a_broken_template_stays_an_error(tmp_path: Path) -> None:
    import jinja2

    (tmp_path / "t.j2").write_text("{% if %}\n")
    for _ in range(2):
        with pytest.raises(jinja2.TemplateSyntaxError):
            make_environment(tmp_path).get_template("t.j2")


def test_run_folders_started_in_the_same_second_differ(tmp_path: Path) -> None:
    folders = {new_run_folder(tmp_path / "deploy" / "sukadana") for _ in range(20)}
    assert len(folders) == 20
    assert all(f.is_dir() and f.is_absolute() for f in folders)
    assert all(f.name[:8].isdigit() and f.name[8] == "T" for f in folders)
