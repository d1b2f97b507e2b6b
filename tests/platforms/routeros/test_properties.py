"""Property tests over generated configs: emit/parse round trip, idempotence, plan round trip."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kopnet_iac.errors import ParseError
from kopnet_iac.platforms.routeros.apply import apply_script
from kopnet_iac.platforms.routeros.emitter import emit, quote
from kopnet_iac.platforms.routeros.model import Entry, RouterOSConfig, Selector
from kopnet_iac.platforms.routeros.normalize import equivalent
from kopnet_iac.platforms.routeros.parser import parse_export, parse_script, unescape
from kopnet_iac.platforms.routeros.planner import plan, target_state

# Any text RouterOS could hold: quotes, $, backslashes, control characters, non-ASCII.
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
NAME = st.text(alphabet="abcdefgh-_0123 ", min_size=1, max_size=6)
FLAG = st.sampled_from(["yes", "no", "true", "false"])
RATE = st.sampled_from(["10M/10M", "10000000/10000000", "512k/1M", "2M/4M"])
ADDR = st.sampled_from(["10.0.0.1/24", "10.0.1.1/24", "100.64.0.1/24", "192.168.88.1/24"])
IFACE = st.sampled_from(["ether1", "ether2", "vlan99", "bridge"])


def _content_key(d: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """What the engine compares: empty and default values are absent, true == yes."""
    spelled = {k: {"true": "yes", "false": "no"}.get(v, v) for k, v in d.items()}
    return tuple(sorted((k, v) for k, v in spelled.items() if v and (k, v) != ("disabled", "no")))


def _pools() -> st.SearchStrategy[list[Entry]]:
    entry = st.fixed_dictionaries(
        {"name": NAME, "ranges": st.sampled_from(["10.0.0.2-10.0.0.9", "10.9.0.2-10.9.0.9"])},
        optional={"comment": TEXT},
    )
    return st.lists(entry, max_size=4, unique_by=lambda d: d["name"]).map(
        lambda ds: [Entry("add", d) for d in ds]
    )


def _addresses() -> st.SearchStrategy[list[Entry]]:
    entry = st.fixed_dictionaries(
        {"address": ADDR, "interface": IFACE}, optional={"disabled": FLAG, "comment": TEXT}
    )
    return st.lists(entry, max_size=4, unique_by=lambda d: (d["address"], d["interface"])).map(
        lambda ds: [Entry("add", d) for d in ds]
    )


def _rules() -> st.SearchStrategy[list[Entry]]:
    entry = st.fixed_dictionaries(
        {
            "chain": st.sampled_from(["input", "forward"]),
            "action": st.sampled_from(["accept", "drop"]),
        },
        optional={
            "protocol": st.sampled_from(["tcp", "udp", "icmp"]),
            "comment": TEXT,
            "disabled": FLAG,
        },
    )
    return st.lists(entry, max_size=5, unique_by=_content_key).map(
        lambda ds: [Entry("add", d) for d in ds]
    )


def _queues() -> st.SearchStrategy[list[Entry]]:
    entry = st.fixed_dictionaries({"name": NAME, "max-limit": RATE, "target": ADDR})
    return st.lists(entry, max_size=4, unique_by=lambda d: d["name"]).map(
        lambda ds: [Entry("add", d) for d in ds]
    )


def _singleton() -> st.SearchStrategy[list[Entry]]:
    return st.lists(
        st.fixed_dictionaries({}, optional={"name": TEXT}).map(lambda d: Entry("set", d)),
        max_size=1,
    ).map(lambda es: [e for e in es if e.props])


def _services() -> st.SearchStrategy[list[Entry]]:
    item = st.tuples(st.sampled_from(["telnet", "ftp", "www", "ssh", "api"]), FLAG)
    return st.lists(item, max_size=4, unique_by=lambda t: t[0]).map(
        lambda ts: [Entry("set", {"disabled": f}, None, n) for n, f in ts]
    )


def _ethernet() -> st.SearchStrategy[list[Entry]]:
    item = st.tuples(st.sampled_from(["ether1", "ether2"]), NAME)
    return st.lists(item, max_size=2, unique_by=lambda t: t[0]).map(
        lambda ts: [
            Entry("set", {"name": n}, Selector((("default-name", "=", d),), raw="")) for d, n in ts
        ]
    )


def _unknown() -> st.SearchStrategy[list[Entry]]:
    entry = st.fixed_dictionaries({"x": st.sampled_from(["1", "2", "3"])}, optional={"y": TEXT})
    return st.lists(entry, max_size=3, unique_by=_content_key).map(
        lambda ds: [Entry("add", d) for d in ds]
    )


PATHS = {
    ("ip", "pool"): _pools(),
    ("ip", "address"): _addresses(),
    ("ip", "firewall", "filter"): _rules(),
    ("queue", "simple"): _queues(),
    ("system", "identity"): _singleton(),
    ("ip", "service"): _services(),
    ("interface", "ethernet"): _ethernet(),
    ("kopnet", "unknown", "menu"): _unknown(),
}


@st.composite
def configs(draw: st.DrawFn) -> RouterOSConfig:
    cfg = RouterOSConfig()
    for path, strategy in PATHS.items():
        if draw(st.booleans()):
            entries = draw(strategy)
            if entries:
                cfg.sections[path] = entries
    return cfg


def _canonical(cfg: RouterOSConfig) -> RouterOSConfig:
    """Selectors as the parser builds them (raw text included)."""
    return parse_export(emit(cfg))


# A bounded sample by default; KOPNET_FULL=1 runs a long campaign.
EXAMPLES = 1000 if os.environ.get("KOPNET_FULL") == "1" else 60
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@SETTINGS
@given(TEXT)
def test_quote_round_trips_any_text(value: str) -> None:
    q = quote(value)
    assert unescape(q[1:-1] if q.startswith('"') else q) == value


@SETTINGS
@given(configs())
def test_emit_then_parse_is_identity(cfg: RouterOSConfig) -> None:
    model = _canonical(cfg)
    for terse in (False, True):
        assert parse_export(emit(model, terse=terse)) == model
    assert [(p, [e.props for e in es]) for p, es in model.sections.items()] == [
        (p, [e.props for e in es]) for p, es in cfg.sections.items()
    ]


@SETTINGS
@given(configs())
def test_plan_of_a_config_against_itself_is_empty(cfg: RouterOSConfig) -> None:
    model = _canonical(cfg)
    assert not plan(model, model)


@SETTINGS
@given(configs(), configs())
def test_plan_and_revert_round_trip(running: RouterOSConfig, intended: RouterOSConfig) -> None:
    running, intended = _canonical(running), _canonical(intended)
    result = plan(running, intended)
    after = apply_script(running, result.script())
    assert equivalent(after, target_state(running, intended))
    assert not plan(after, intended)
    back = apply_script(after, result.revert_script())
    assert equivalent(back, running)


# Text made of the characters that matter to the lexer, in any order.
NOISE = st.text(alphabet='/ad =[]"\\\\$(){}:#!\n\r\t-eixyz0123&|~<>', max_size=80)


@SETTINGS
@given(NOISE)
def test_malformed_text_raises_parse_error_or_parses(text: str) -> None:
    for parse in (parse_script, parse_export):
        try:
            parse(text, "fuzz.rsc")
        except ParseError as exc:
            assert exc.position is not None and exc.position.file == "fuzz.rsc"
            assert 1 <= exc.position.line <= text.count("\n") + 1
            assert exc.position.column >= 1


@SETTINGS
@given(configs(), st.integers(min_value=0, max_value=10_000))
def test_truncated_exports_never_crash(cfg: RouterOSConfig, cut: int) -> None:
    text = emit(cfg)
    truncated = text[: cut % (len(text) + 1)]
    try:
        got = parse_export(truncated, "cut.rsc")
    except ParseError as exc:
        # Only the cut (last, incomplete) line can be malformed: whole lines always parse.
        assert not truncated.endswith("\n"), f"complete lines rejected: {exc}"
        assert exc.position is not None and exc.position.file == "cut.rsc"
        assert exc.position.line == truncated.count("\n") + 1
        return
    assert got.line_count() <= cfg.line_count()
    assert parse_export(emit(got)) == got
    if truncated == text:
        assert got == parse_export(text)
