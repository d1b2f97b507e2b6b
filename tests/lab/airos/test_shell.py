"""Pure parts of the airOS shell: command line parsing and heredocs."""

from __future__ import annotations

import pytest

from kopnet_iac.lab.airos.shell import ShellSyntaxError, parse_line, split_heredoc


def test_pipelines_connectors_and_redirections() -> None:
    pipelines = parse_line("cat /tmp/system.cfg | grep radio > /tmp/out; echo 'a b'&&false || true")
    assert [p.connector for p in pipelines] == [";", ";", "&&", "||"]
    first = pipelines[0].commands
    assert [c.argv for c in first] == [["cat", "/tmp/system.cfg"], ["grep", "radio"]]
    assert first[1].redirect == ("/tmp/out", False)
    assert pipelines[1].commands[0].argv == ["echo", "a b"]
    assert parse_line("echo x>>/tmp/f")[0].commands[0].redirect == ("/tmp/f", True)
    assert parse_line("hostname;") and parse_line("") == []


@pytest.mark.parametrize(
    "line", ["echo 'open", "cat &&", "| grep x", "echo >", "a && && b", "& y", "cat < f"]
)
def test_syntax_errors(line: str) -> None:
    with pytest.raises(ShellSyntaxError):
        parse_line(line)


def test_heredoc_split() -> None:
    command, body = split_heredoc("cat > /tmp/system.cfg <<'EOF'\na=1\nb=2\nEOF\nignored")
    assert command == "cat > /tmp/system.cfg"
    assert body == "a=1\nb=2\n"
    assert split_heredoc("echo hi") == ("echo hi", None)
    assert split_heredoc("cat <<END\nx=1") == ("cat", "x=1\n")
