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


def test_background_lists_and_fd_redirects() -> None:
    from kopnet_iac.lab.airos.shellparse import and_or_lists

    pipelines = parse_line("a && b & c\nd 2>/dev/null; e >/dev/null 2>&1")
    groups = and_or_lists(pipelines)
    assert [[p.commands[0].argv[0] for p in g] for g in groups] == [["a", "b"], ["c"], ["d"], ["e"]]
    assert [g[0].background for g in groups] == [True, False, False, False]
    assert groups[2][0].commands[0].stderr == ("/dev/null", False)
    e = groups[3][0].commands[0]
    assert e.redirect == ("/dev/null", False) and e.stderr == ("&1", False)
    assert parse_line("a &&\nb")[1].connector == "&&"
    assert parse_line("# only a comment\n") == []
    assert parse_line("echo a2>f")[0].commands[0].argv == ["echo", "a2"]


async def _no_substitution(inner: str) -> str:
    return f"<{inner}>"


def test_quotes_and_deferred_expansion() -> None:
    import asyncio

    from kopnet_iac.lab.airos.shellparse import expand_word, tokenize

    words = [t for kind, t in tokenize("""echo '$X' "$X" \\$X $(cat /f) `id` "a b"c""") if kind]
    values = {"X": "1"}
    expanded = [asyncio.run(expand_word(w, values, _no_substitution)) for w in words]
    assert expanded == ["echo", "$X", "1", "$X", "<cat /f>", "<id>", "a bc"]
    with pytest.raises(ShellSyntaxError):
        parse_line("echo $(unterminated")
    with pytest.raises(ShellSyntaxError):
        parse_line('echo "open')
