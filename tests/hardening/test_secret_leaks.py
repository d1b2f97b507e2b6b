"""Each secret leak found by review, reproduced and shut: a decrypted vault line, a RouterOS
parse error token, a ``repr`` with a password, an unescaped value in a config. Canary values
only; a test fails when its canary shows up anywhere it must not."""

from __future__ import annotations

import logging
import shutil
import traceback
from pathlib import Path

import pytest
from ansible.parsing.vault import VaultLib, VaultSecret

from kopnet_iac.errors import ParseError, SecretError
from kopnet_iac.inventory.loader import Inventory, load_inventory
from kopnet_iac.inventory.secrets import placeholder, resolve_secret, substitute_secrets
from kopnet_iac.lab.spec import DeviceSpec
from kopnet_iac.lab.targets import DeviceTarget
from kopnet_iac.platforms.linux.gateway import GatewayConnection
from kopnet_iac.platforms.linux.sshrun import SshTarget
from kopnet_iac.platforms.routeros import parse_export, parse_script, plan_many
from kopnet_iac.platforms.routeros.lexer import shown_token
from tests.conftest import EXAMPLE_FLEET, REPO_ROOT

CANARY = "CanaryQ7x9Zk"
VAULT_PW = "fake-vault-pw"


@pytest.fixture
def inv(tmp_path: Path) -> Inventory:
    dest = tmp_path / "inventory"
    shutil.copytree(EXAMPLE_FLEET, dest)
    return load_inventory(dest)


def _everything(exc: BaseException) -> str:
    """All a user or a log could see of an exception: message, repr, chained causes, traceback."""
    return "".join(traceback.format_exception(exc)) + repr(exc) + repr(vars(exc))


# ----------------------------------------------------------------------------- vault


@pytest.mark.parametrize(
    ("plain", "line"),
    [
        (f"core-admin: {CANARY}\nradius-secret: [{CANARY}\n", 3),  # unclosed flow sequence
        (f"core-admin: {CANARY}\n  radius-secret: x: {CANARY}\n", 2),  # bad indentation
        (f'core-admin: "{CANARY}\n', 2),  # unterminated quoted scalar
        (f"core-admin: {CANARY}\n\tradius-secret: {CANARY}\n", 2),  # a tab
    ],
)
def test_malformed_vault_names_file_and_line_never_the_text(
    inv: Inventory, plain: str, line: int, caplog: pytest.LogCaptureFixture
) -> None:
    vault = VaultLib([("default", VaultSecret(VAULT_PW.encode()))])
    (inv.root / "fleet.vault").write_bytes(vault.encrypt(plain))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SecretError) as info:
        resolve_secret(inv, "core-admin", {"KOPNET_VAULT_PASSWORD": VAULT_PW})
    message = str(info.value)
    assert "fleet.vault" in message and f"line {line}" in message
    assert CANARY not in _everything(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert CANARY not in caplog.text


def test_vault_entry_that_is_not_a_text_value(inv: Inventory) -> None:
    vault = VaultLib([("default", VaultSecret(VAULT_PW.encode()))])
    (inv.root / "fleet.vault").write_bytes(vault.encrypt(f"core-admin: [{CANARY}]\n"))
    with pytest.raises(SecretError, match="name: value") as info:
        resolve_secret(inv, "core-admin", {"KOPNET_VAULT_PASSWORD": VAULT_PW})
    assert CANARY not in _everything(info.value)


# ----------------------------------------------------------------------------- parse errors

SECRET_LINES = [
    f'/ppp secret\nadd name=alice password="{CANARY}',  # unterminated string
    f'/ppp secret\nadd name=alice password="{CANARY}\\"',  # escaped quote, still open
    f"/ppp secret\nadd name=alice password={CANARY} ]",  # stray bracket
    f"/ppp secret\nadd name=alice password={CANARY} ) x",
    f"/radius\nadd address=10.0.0.1 secret={CANARY} (",
    f'/ip address\nadd comment="{CANARY}',  # any quoted value, sensitive or not
    f"/ip address\nadd comment=[ find name={CANARY}",
    f"/snmp community\nset [ find default=yes ] name={CANARY} }}",
    f"/interface wireless security-profiles\nadd name=p wpa2-pre-shared-key={CANARY} [",
    f"/user\nadd name=ops password={CANARY} ({CANARY}2)",
    f"{CANARY}=x",  # a key=value pair where a command belongs
    f"/ppp secret\nremove [ find password={CANARY} ]",
    f"/ppp secret\nbogus-verb password={CANARY}",
    f":put {CANARY}\n/ppp secret add password={CANARY}",
    f'/system script\nadd name=s source="{CANARY}',
]


@pytest.mark.parametrize("text", SECRET_LINES)
def test_parse_errors_never_echo_a_secret(text: str) -> None:
    for parse in (parse_export, parse_script):
        try:
            parse(text, "leak.rsc")
        except ParseError as exc:
            assert exc.position is not None and exc.position.file == "leak.rsc"
            assert CANARY not in _everything(exc)
            assert CANARY not in (exc.token or "")


def test_every_secret_line_is_rejected_by_the_export_parser() -> None:
    # guards the test above: each line must reach an error path, not parse
    for text in SECRET_LINES:
        with pytest.raises(ParseError):
            parse_export(text, "leak.rsc")


def test_plain_tokens_are_still_shown() -> None:
    with pytest.raises(ParseError) as info:
        parse_export("/ip address\nfrobnicate address=10.0.0.1/24\n", "v.rsc")
    assert info.value.token == "frobnicate" and "frobnicate" in str(info.value)
    assert shown_token("frobnicate", "frobnicate address=1") == "frobnicate"
    assert shown_token('"x', "add comment=x") is None
    assert shown_token("name", "/snmp community set name=x", ("snmp", "community")) is None
    assert shown_token("name", "/ip pool add name=x") == "name"


def test_plan_many_results_never_echo_a_secret() -> None:
    pairs = [
        (f'/ppp secret\nadd name=a password="{CANARY}\n', "/ppp secret\nadd name=a\n"),
        ("/ppp secret\nadd name=a\n", f"/ppp secret\nadd name=a password={CANARY} ]\n"),
        (
            "/ppp secret\nadd name=a\n",
            f"/ppp secret\nadd name=a password={CANARY}\nadd name=a password={CANARY}\n",
        ),
    ]
    results = plan_many(pairs, workers=1, hosts=["r1", "r2", "r3"])
    assert [r.ok for r in results] == [False, False, False]
    for result in results:
        assert CANARY not in repr(result)
        assert result.error is not None and result.host is not None
        assert result.host in result.error


# ----------------------------------------------------------------------------- reprs


def test_connection_objects_never_show_a_password() -> None:
    objects: list[object] = [
        SshTarget("127.0.0.1", "admin", password=CANARY, hostname="gw"),
        GatewayConnection("v", "gw", "127.0.0.1", 22, "admin", "gw-admin", password=CANARY),
        DeviceTarget("r", "routeros", "127.0.0.1", 8728, 8022, None, "admin", CANARY, "running"),
        DeviceSpec("v", "r", "routeros", "hap", "127.0.0.1", password=CANARY),
    ]
    for obj in objects:
        assert CANARY not in repr(obj) and CANARY not in str(obj)
        assert CANARY not in f"{obj!r} {[obj]} { ({'k': obj}) }"


# ----------------------------------------------------------------------------- substitution


def _env(**values: str) -> dict[str, str]:
    return {f"KOPNET_SECRET_{k.upper()}": v for k, v in values.items()}


HOSTILE = 'a"b\\c$d?e [x] ;{y}'


def test_routeros_quoted_value_is_escaped(inv: Inventory) -> None:
    text = f'/user set [ find name=admin ] password="{placeholder("core-admin")}" comment=x\n'
    out = substitute_secrets(inv, text, _env(core_admin=HOSTILE), platform="routeros")
    assert out == (
        '/user set [ find name=admin ] password="a\\"b\\\\c\\$d\\?e [x] ;{y}" comment=x\n'
    )
    cfg = parse_export(out, "sub.rsc")
    assert cfg.sections[("user",)][0].props["password"] == HOSTILE
    assert cfg.sections[("user",)][0].props["comment"] == "x"


def test_routeros_bare_placeholder_becomes_one_quoted_value(inv: Inventory) -> None:
    text = f"/ppp secret\nadd name=a password={placeholder('radius-secret')} service=pppoe\n"
    for value in (HOSTILE, "plain", "two words", "x\ny", "$(:put x)", "café"):
        out = substitute_secrets(inv, text, _env(radius_secret=value), platform="routeros")
        entry = parse_export(out, "sub.rsc").sections[("ppp", "secret")][0]
        assert entry.props == {"name": "a", "password": value, "service": "pppoe"}, out
        assert out.count("\n") == 2  # no line break was injected


def test_routeros_placeholder_inside_a_longer_string(inv: Inventory) -> None:
    text = f'/system note set note="key {placeholder("backhaul-key")} end"\n'
    out = substitute_secrets(inv, text, _env(backhaul_key=HOSTILE), platform="routeros")
    entry = parse_export(out, "sub.rsc").sections[("system", "note")][0]
    assert entry.props["note"] == f"key {HOSTILE} end"


def test_rendered_routeros_configs_parse_with_hostile_secrets(inv: Inventory) -> None:
    from kopnet_iac.render.renderer import Renderer

    renderer = Renderer(Path(REPO_ROOT) / "templates")
    artifacts = renderer.render_villages(inv, sorted(inv.villages))
    env = _env(**{name.replace("-", "_"): HOSTILE + name for name in inv.fleet.secrets})
    checked = 0
    for artifact in artifacts:
        if artifact.platform != "routeros" or "@@secret:" not in artifact.text:
            continue
        out = substitute_secrets(inv, artifact.text, env, platform="routeros")
        cfg = parse_export(out, artifact.path)
        values = {v for entries in cfg.sections.values() for e in entries for v in e.props.values()}
        assert any(v.startswith(HOSTILE) for v in values), artifact.path
        checked += 1
    assert checked > 0


def test_airos_refuses_a_line_break(inv: Inventory) -> None:
    text = f"users.1.password={placeholder('radio-admin')}\nusers.1.status=enabled\n"
    ok = substitute_secrets(inv, text, _env(radio_admin=HOSTILE), platform="airos")
    assert ok.splitlines()[0] == f"users.1.password={HOSTILE}"
    for bad in (f"{CANARY}\nusers.2.name=evil", f"{CANARY}\r", f"{CANARY}\x00"):
        with pytest.raises(SecretError, match="radio-admin") as info:
            substitute_secrets(inv, text, _env(radio_admin=bad), platform="airos")
        assert CANARY not in _everything(info.value)


def test_linux_refuses_what_it_cannot_write_safely(inv: Inventory) -> None:
    quoted = f'password "{placeholder("gw-admin")}";\n'
    bare = f"password {placeholder('gw-admin')};\n"
    assert substitute_secrets(inv, quoted, _env(gw_admin="ok pw$"), platform="linux") == (
        'password "ok pw$";\n'
    )
    assert substitute_secrets(inv, bare, _env(gw_admin="okpw"), platform="linux") == (
        "password okpw;\n"
    )
    for text, value in ((quoted, f'{CANARY}"'), (quoted, f"{CANARY}\\"), (bare, f"{CANARY} x")):
        with pytest.raises(SecretError, match="gw-admin") as info:
            substitute_secrets(inv, text, _env(gw_admin=value), platform="linux")
        assert CANARY not in _everything(info.value)


def test_default_substitution_is_verbatim_and_unknown_platform_refused(inv: Inventory) -> None:
    text = f"x={placeholder('gw-admin')}"
    assert substitute_secrets(inv, text, _env(gw_admin=HOSTILE)) == f"x={HOSTILE}"
    with pytest.raises(SecretError, match="unknown platform"):
        substitute_secrets(inv, text, _env(gw_admin="x"), platform="junos")


def test_kept_ansible_runner_artifacts_lose_the_environment_values(tmp_path: Path) -> None:
    import json

    from kopnet_iac.platforms.linux.ansible import scrub_runner_env

    run = tmp_path / "artifacts" / "0b1c"
    run.mkdir(parents=True)
    env = {"KOPNET_SECRET_GW_ADMIN": CANARY, "KOPNET_VAULT_PASSWORD": CANARY, "PATH": "/bin"}
    (run / "command").write_text(json.dumps({"command": ["ansible-playbook"], "env": env}))
    (run / "other").write_text("kept")
    scrub_runner_env(tmp_path)
    data = json.loads((run / "command").read_text())
    assert CANARY not in (run / "command").read_text()
    assert data["command"] == ["ansible-playbook"] and data["env"]["PATH"] == "/bin"
    assert set(data["env"]) == set(env)
    assert oct((run / "command").stat().st_mode & 0o777) == "0o600"
    assert (run / "other").read_text() == "kept"


def test_airos_config_errors_show_the_position_only() -> None:
    from kopnet_iac.lab.airos.config import SystemConfig

    # a password with a line break split over two lines: the second has no "="
    text = f"users.1.name=admin\nusers.1.password=ab\n{CANARY}cd\n"
    with pytest.raises(ParseError) as info:
        SystemConfig.parse(text)
    assert info.value.position is not None and info.value.position.line == 3
    assert CANARY not in _everything(info.value)


def test_state_store_masks_values_sensitive_in_their_menu_only() -> None:
    from kopnet_iac.state.redact import cleartext_secrets, mask_secrets

    text = (
        "/snmp community\n"
        f'set [ find default=yes ] addresses=10.255.0.0/24 name="{CANARY}" read-access=yes\n'
        f"/snmp community set [ find name={CANARY}2 ] name={CANARY}3\n"
        "/ip pool\nadd name=dhcp ranges=10.0.0.2-10.0.0.9\n"
        f"/interface wireless security-profiles add name=p management-protection-key={CANARY}\n"
        '/snmp community\nset [ find default=yes ] name="@@secret:snmp-community@@"\n'
    )
    masked = mask_secrets(text)
    assert CANARY not in masked  # in selectors too
    assert "add name=dhcp ranges" in masked  # a name elsewhere is no secret
    assert 'name="@@secret:snmp-community@@"' in masked  # placeholders are kept
    assert [line for line, _ in cleartext_secrets(text)] == [2, 3, 6]
