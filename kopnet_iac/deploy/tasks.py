"""Nornir tasks of the deploy transaction, usable on their own with ``nr.run()``.

Every task is a plain function ``task(task: Task, ...) -> Result`` on a NAPALM host (RouterOS
``kopnet_routeros``, airOS ``kopnet_airos``: any driver with the standard NAPALM API), opening
the device through nornir_napalm's connection plugin, so a runbook can chain them::

    from kopnet_iac.deploy import tasks
    plan = nr.run(task=tasks.plan_config, intended=text)              # diff, no change
    nr.run(task=tasks.arm_and_apply, intended=text, revert_in=300)    # armed + applied
    nr.run(task=tasks.confirm)                                        # or tasks.revert

``Result.result`` is always a dict (the *payload*), JSON-ready; ``Result.diff`` and
``Result.changed`` follow Nornir's conventions. Vendor exceptions are wrapped in KopnetError
subclasses naming village, host and step; Nornir records them as the host's failure.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable
from typing import Any

from nornir.core.task import Result, Task

from kopnet_iac.deploy.verify import Observation
from kopnet_iac.errors import ApplyError, ConnectError, KopnetError, PlanError, RollbackError

log = logging.getLogger(__name__)

CONNECTION = "napalm"

#: optional getters the verification uses when a driver has them (name -> Observation field)
OPTIONAL_GETTERS = {
    "get_pppoe_servers": "pppoe_servers",
    "get_hotspot_servers": "hotspot_servers",
    "get_wireless_registrations": "wireless",
    "get_wireless_link": "wireless",
}


def _where(task: Task) -> dict[str, str | None]:
    return {"village": task.host.data.get("village"), "host": task.host.name}


def device(task: Task, step: str) -> Any:
    """The host's open NAPALM driver (opened on first use, opened again when its session was
    lost: a revert after a dropped apply must reach the device); ConnectError naming the step."""
    try:
        driver = task.host.get_connection(CONNECTION, task.nornir.config)
        if _alive(driver):
            return driver
        log.info("%s: session lost, opening it again for %s", task.host.name, step)
        with contextlib.suppress(Exception):
            task.host.close_connection(CONNECTION)
        task.host.connections.pop(CONNECTION, None)
        return task.host.get_connection(CONNECTION, task.nornir.config)
    except KopnetError as exc:
        task.host.connections.pop(CONNECTION, None)
        if exc.village is None and exc.host in (None, task.host.name):
            exc.host, exc.village = task.host.name, task.host.data.get("village")
        exc.step = exc.step or step
        raise
    except Exception as exc:
        task.host.connections.pop(CONNECTION, None)
        raise ConnectError(
            f"cannot open the device: {_reason(exc)}", step=step, **_where(task)
        ) from exc


def _alive(driver: Any) -> bool:
    """NAPALM's ``is_alive()``; a driver without it counts as alive."""
    try:
        return bool(driver.is_alive().get("is_alive", True))
    except NotImplementedError:
        return True


def _driver_name(task: Task) -> str:
    return str(task.host.get_connection_parameters(CONNECTION).platform or task.host.platform)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _call(task: Task, step: str, error: type[KopnetError], func: Callable[[], Any]) -> Any:
    try:
        return func()
    except KopnetError as exc:
        if exc.host is None:
            exc.host = task.host.name
        if exc.village is None and exc.host == task.host.name:
            exc.village = task.host.data.get("village")
        if exc.step is None:
            exc.step = step
        raise
    except Exception as exc:
        raise error(_reason(exc), step=step, **_where(task)) from exc


_OPERATIONS = re.compile(r"\b(\d+) operations?\b|\b(\d+) operation\(s\)")


def count_operations(diff: str) -> int:
    """Configuration operations a diff stands for.

    A RouterOS plan report states its count (``core-x: 73 operation(s): ...``); a key-level or
    unified diff counts each key (or line) added, changed or removed once; otherwise the
    non-blank, non-comment lines of a script.
    """
    lines = [line for line in diff.splitlines() if line.strip()]
    if not lines:
        return 0
    stated = _OPERATIONS.search(lines[0])
    if stated:
        return int(stated.group(1) or stated.group(2))
    marked = [line for line in lines if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    if marked:
        return len({line[1:].split("=", 1)[0].strip() for line in marked})
    return sum(1 for line in lines if not line.lstrip().startswith(("#", "@@", "/")))


# --------------------------------------------------------------------------- read + plan


def fetch_running(task: Task, facts: bool = False) -> Result:
    """Read the running configuration (``get_config(retrieve="running")``), and with ``facts``
    the device facts too (each a round trip more on a slow link).

    Payload: ``{"hostname", "running", "facts"}`` (``facts`` empty unless asked).
    """
    driver = device(task, "read running")
    answer = _call(task, "read running", ConnectError, driver.get_facts) if facts else {}
    config = _call(
        task, "read running", ConnectError, lambda: driver.get_config(retrieve="running")
    )
    running = str(config.get("running", ""))
    payload = {"hostname": task.host.name, "running": running, "facts": dict(answer)}
    return Result(host=task.host, result=payload)


def _load(task: Task, driver: Any, intended: str, replace: bool, step: str) -> str:
    if replace:
        _call(task, step, PlanError, lambda: driver.load_replace_candidate(config=intended))
    else:
        _call(task, step, PlanError, lambda: driver.load_merge_candidate(config=intended))
    return str(_call(task, step, PlanError, driver.compare_config) or "")


def plan_config(task: Task, intended: str, replace: bool = True) -> Result:
    """Load ``intended`` as candidate, compare it with the running configuration, discard.

    Nothing changes on the device. Payload: ``{"hostname", "diff", "changed", "operations"}``
    (secrets in the diff are masked by the driver).
    """
    driver = device(task, "plan")
    diff = _load(task, driver, intended, replace, "plan")
    _call(task, "plan", PlanError, driver.discard_config)
    payload = {
        "hostname": task.host.name,
        "diff": diff,
        "changed": bool(diff.strip()),
        "operations": count_operations(diff),
    }
    return Result(host=task.host, result=payload, diff=diff, changed=False)


# --------------------------------------------------------------------------- change


def arm_and_apply(
    task: Task,
    intended: str,
    revert_in: int,
    replace: bool = True,
    expected_diff: str | None = None,
) -> Result:
    """Arm the device-side revert and apply ``intended``: ``commit_config(revert_in=...)``.

    The driver arms the revert (RouterOS scheduler job + revert script, airOS test mode) before
    it changes anything; unless :func:`confirm` runs within ``revert_in`` seconds the device
    goes back by itself. With ``expected_diff`` (the plan that was shown and approved) a device
    whose running configuration changed since the plan is refused, nothing applied.
    An empty diff commits nothing. Payload: ``{"hostname", "diff", "changed", "operations",
    "armed", "revert_in"}``.
    """
    step = "apply"
    driver = device(task, step)
    diff = _load(task, driver, intended, replace, step)
    payload: dict[str, Any] = {
        "hostname": task.host.name,
        "diff": diff,
        "changed": bool(diff.strip()),
        "operations": count_operations(diff),
        "armed": False,
        "revert_in": revert_in,
    }
    if not diff.strip():
        _call(task, step, ApplyError, driver.discard_config)
        payload["operations"] = 0
        return Result(host=task.host, result=payload, diff="", changed=False)
    if expected_diff is not None and diff.strip() != expected_diff.strip():
        _call(task, step, ApplyError, driver.discard_config)
        raise ApplyError(
            "the running configuration changed since the plan was shown; nothing applied, "
            "plan again",
            step=step,
            **_where(task),
        )
    log.info(
        "%s: committing %d operation(s), revert in %d s",
        task.host.name,
        payload["operations"],
        revert_in,
    )
    _call(task, step, ApplyError, lambda: driver.commit_config(revert_in=revert_in))
    payload["armed"] = True
    return Result(host=task.host, result=payload, diff=diff, changed=True)


def confirm(task: Task) -> Result:
    """Make the applied configuration permanent (disarm the revert), if one is pending.

    Payload: ``{"hostname", "confirmed"}`` (False: nothing was pending).
    """
    step = "confirm"
    driver = device(task, step)
    pending = bool(_call(task, step, ApplyError, driver.has_pending_commit))
    if pending:
        _call(task, step, ApplyError, driver.confirm_commit)
    return Result(
        host=task.host, result={"hostname": task.host.name, "confirmed": pending}, changed=pending
    )


def revert(task: Task, force: bool = False) -> Result:
    """Put the pre-deploy configuration back now (``rollback()``, no reboot with our drivers).

    Only a device with a pending (armed, unconfirmed) commit is rolled back, unless ``force``:
    a device whose own revert already ran, or whose commit failed and was undone by the driver,
    must not be rolled back a second time (that would undo the release before). ``force`` rolls
    back a confirmed commit too. Payload: ``{"hostname", "pending_before", "reverted"}``.
    """
    step = "revert"
    driver = device(task, step)
    pending = bool(_call(task, step, RollbackError, driver.has_pending_commit))
    if pending or force:
        _call(task, step, RollbackError, driver.rollback)
    payload = {"hostname": task.host.name, "pending_before": pending, "reverted": pending or force}
    return Result(host=task.host, result=payload, changed=pending or force)


def pending_commit(task: Task) -> Result:
    """Whether a revert is armed on the device (``has_pending_commit``). Payload: ``{"pending"}``."""
    driver = device(task, "read state")
    pending = bool(_call(task, "read state", ConnectError, driver.has_pending_commit))
    return Result(host=task.host, result={"hostname": task.host.name, "pending": pending})


# --------------------------------------------------------------------------- verify


def collect_observation(
    task: Task,
    intended: str | None = None,
    ping_targets: dict[str, str] | None = None,
    ping_count: int = 3,
    replace: bool = True,
) -> Result:
    """Read what the verification checks need, never failing the task for one getter.

    ``get_facts`` (management), the diff against ``intended`` (converged), ``get_interfaces``,
    ``ping`` to each target, and the platform getters the driver has (PPPoE/hotspot servers,
    wireless registrations or link). Payload: an :class:`Observation` (``Result.result``).
    """
    obs = Observation(hostname=task.host.name)
    try:
        driver = device(task, "verify")
        obs.facts = dict(driver.get_facts())
    except Exception as exc:
        obs.error = _reason(exc)
        task.host.connections.pop(CONNECTION, None)
        return Result(host=task.host, result=obs)
    obs.reachable = True

    def attempt(name: str, func: Callable[[], Any]) -> Any:
        try:
            return func()
        except NotImplementedError:
            obs.getter_errors[name] = f"the {_driver_name(task)} driver has no {name}"
        except Exception as exc:
            obs.getter_errors[name] = f"{name} failed: {_reason(exc)}"
        return None

    if intended is not None:

        def compare() -> str:
            diff = _load(task, driver, intended, replace, "verify")
            driver.discard_config()
            return diff

        obs.diff = attempt("compare", compare)
    obs.interfaces = attempt("interfaces", driver.get_interfaces)
    for address in (ping_targets or {}).values():
        try:
            obs.pings[address] = dict(driver.ping(address, count=ping_count))
        except NotImplementedError:
            obs.pings[address] = {"unsupported": f"the {_driver_name(task)} driver has no ping"}
        except Exception as exc:
            obs.pings[address] = {"error": _reason(exc)}
    for getter, attr in OPTIONAL_GETTERS.items():
        func = getattr(driver, getter, None)
        if func is None or getattr(obs, attr) is not None:
            continue
        value = attempt(getter.removeprefix("get_"), func)
        if value is not None:
            setattr(obs, attr, _rows(value))
    return Result(host=task.host, result=obs)


def _rows(value: Any) -> list[dict[str, Any]]:
    """A getter's answer as rows: a list of dicts, a dict of dicts (keyed by name), a dict
    holding a ``stations``/``registrations`` list, or one dict."""
    if isinstance(value, list):
        return [dict(v) for v in value if isinstance(v, dict)]
    if isinstance(value, dict):
        for key in ("stations", "registrations", "sta", "peers"):
            if isinstance(value.get(key), list):
                return _rows(value[key])
        if value and all(isinstance(v, dict) for v in value.values()):
            return [{"name": k, **v} for k, v in value.items()]
        return [dict(value)] if value else []
    return []


__all__ = [
    "arm_and_apply",
    "collect_observation",
    "confirm",
    "count_operations",
    "device",
    "fetch_running",
    "pending_commit",
    "plan_config",
    "revert",
]
