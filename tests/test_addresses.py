"""Test address blocks are unique among live test processes."""

from __future__ import annotations

import subprocess
import sys

from tests.addresses import claim_block

PROBE = "from tests.addresses import claim_block; print(claim_block({!r}, 10, 4))"


def test_a_block_held_by_a_live_process_is_not_handed_to_another() -> None:
    mine = claim_block("127.254", 10, 4)
    assert claim_block("127.254", 10, 4) == mine  # stable within the process
    others = [
        subprocess.run(
            [sys.executable, "-c", PROBE.format("127.254")],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
        for _ in range(3)
    ]
    assert mine not in others
    assert all(o.startswith("127.254.") and 10 <= int(o.rsplit(".", 1)[1]) < 14 for o in others)
