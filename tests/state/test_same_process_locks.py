"""Opening the store again in a process that already has it open keeps the first connection's
locks. Closing any descriptor of the database file drops every POSIX lock the process holds on
it; in WAL mode another process closing its connection then believes it is the last one,
checkpoints and deletes the WAL and shared-memory files under the open connections, and their
next reads find "database disk image is malformed". So a second open must not read the file
beside an open connection."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kopnet_iac.state import ReleaseStore

OPEN_AND_CLOSE = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
conn.close()
"""


def test_a_second_open_in_the_process_keeps_the_wal_of_the_first(tmp_path: Path) -> None:
    first = ReleaseStore.open(tmp_path)
    try:
        first.releases()  # the connection reads: it holds its shared lock on the file
        wal = tmp_path / "state.db-wal"
        assert wal.exists()
        second = ReleaseStore.open(tmp_path)  # another store in the same process
        second.close()
        subprocess.run(
            [sys.executable, "-c", OPEN_AND_CLOSE, str(tmp_path / "state.db")],
            check=True,
            timeout=60,
        )
        # the other process saw this one's lock: it left the WAL of the open connection alone
        assert wal.exists()
        assert first.releases() == []
    finally:
        first.close()
