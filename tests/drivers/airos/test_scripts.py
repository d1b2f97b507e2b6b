"""The driver's shell scripts as text: sections of the read, order of the commit steps."""

from __future__ import annotations

import pytest

from kopnet_iac.drivers.airos import scripts
from kopnet_iac.lab.airos.shellparse import and_or_lists, parse_line


def test_parse_read_sections() -> None:
    output = (
        "board.name=LiteBeam 5AC Gen2\nboard.hwaddr=0211\n"
        "@@kopnet:pending@@\n1234\n@@kopnet:previous@@\nyes\n@@kopnet:running@@\n"
        "a=1\nb=2\n"
    )
    state = scripts.parse_read(output)
    assert state.model == "LiteBeam 5AC Gen2" and state.board["board.hwaddr"] == "0211"
    assert state.pending_pid == 1234 and state.has_previous
    assert state.running_text == "a=1\nb=2\n"
    idle = scripts.parse_read("@@kopnet:pending@@\n@@kopnet:previous@@\n@@kopnet:running@@\na=1\n")
    assert idle.pending_pid is None and not idle.has_previous and idle.model == ""
    with pytest.raises(ValueError, match="running"):
        scripts.parse_read("board.name=x\n@@kopnet:pending@@\n@@kopnet:previous@@\n")


@pytest.mark.parametrize("revert_in", [None, 90])
def test_commit_arms_before_it_changes_anything(revert_in: int | None) -> None:
    lines = scripts.commit_script(revert_in).splitlines()
    arm = next(i for i, line in enumerate(lines) if line.startswith("nohup sh -c"))
    first_change = lines.index(f"cp {scripts.RUNNING} {scripts.PREVIOUS}")
    assert lines[0] == "set -e" and arm < first_change
    assert lines.index(f"cmp -s {scripts.FLASH_COPY} {scripts.RUNNING}") < arm
    wait = revert_in if revert_in is not None else scripts.SAFETY_REVERT
    assert f"sleep {wait};" in lines[arm] and lines[arm].endswith("&")
    assert (scripts.SAVE in lines) is (revert_in is None)
    # the shell the lab emulates reads the job as one background and-or list
    groups = and_or_lists(parse_line(lines[arm]))
    assert len(groups) == 1 and groups[0][0].background


def test_confirm_and_rollback_order() -> None:
    confirm = scripts.confirm_script().splitlines()
    assert confirm.index(scripts.SAVE) > confirm.index(f"cmp -s {scripts.RUNNING} {scripts.NEW}")
    assert confirm[1].startswith("kill $(cat ")
    rollback = scripts.rollback_script().splitlines()
    assert rollback[:3] == ["set -e", f"test -e {scripts.PREVIOUS}", f"echo {scripts.HAS_PREVIOUS}"]
    assert rollback.index(scripts.SOFTRESTART) < rollback.index(scripts.SAVE)
    assert "reboot" not in scripts.rollback_script()
