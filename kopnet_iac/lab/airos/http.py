"""airOS 8 HTTP(S) API: ``/api/auth`` (cookie + CSRF), ``status.cgi``, ``getcfg.cgi``,
``writecfg.cgi`` and the forced password change of factory-default devices.

Every request is logged as ``HTTP <METHOD> <path>`` and passes the device's fault hook: a trap
answers 500 with the message, a drop closes the connection without an answer.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from kopnet_iac.errors import KopnetError, ParseError
from kopnet_iac.lab.airos.config import FIRMWARE
from kopnet_iac.lab.faults import Action
from kopnet_iac.lab.wirestats import classify_airos_http

if TYPE_CHECKING:
    from kopnet_iac.lab.airos.device import AirOSDevice

logger = logging.getLogger(__name__)

COOKIE = "AIROS_SESSIONID"
CSRF_HEADER = "X-CSRF-ID"
MAX_SESSIONS = 32
DEVICE_KEY: web.AppKey[AirOSDevice] = web.AppKey("device")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    device = request.app[DEVICE_KEY]
    command = f"HTTP {request.method} {request.path}"
    device.log_command(command)
    peer = request.transport.get_extra_info("peername") if request.transport else None
    device.wire.stats.command(classify_airos_http(request.method, request.path), peer)
    decision = await device.faults.before_command(command)
    if decision.action is Action.DROP:
        if request.transport is not None:
            request.transport.abort()
        raise web.HTTPServiceUnavailable()
    if decision.action is Action.TRAP:
        return web.json_response({"error": decision.message}, status=500)
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:  # a bug in the emulator must not kill the lab
        logger.exception("%s: HTTP handler failed", device.spec.hostname)
        return web.json_response({"error": "internal error"}, status=500)


def _session(request: web.Request, *, csrf: bool) -> tuple[AirOSDevice, str]:
    device = request.app[DEVICE_KEY]
    sid = request.cookies.get(COOKIE, "")
    entry = device.sessions.get(sid)
    if entry is None:
        raise web.HTTPUnauthorized(
            text='{"error": "authorization required"}', content_type="application/json"
        )
    if csrf and not secrets.compare_digest(request.headers.get(CSRF_HEADER, ""), entry[0]):
        raise web.HTTPForbidden(
            text='{"error": "invalid CSRF token"}', content_type="application/json"
        )
    return device, entry[1]


def _require_password_changed(device: AirOSDevice) -> None:
    if device.must_change_password:
        raise web.HTTPForbidden(
            text='{"error": "password change required", "password_change_required": true}',
            content_type="application/json",
        )


async def _fields(request: web.Request) -> dict[str, object]:
    """Form fields, or the members of a JSON object body."""
    if request.content_type == "application/json":
        try:
            data = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(
                text='{"error": "invalid JSON"}', content_type="application/json"
            ) from None
        return dict(data) if isinstance(data, dict) else {}
    return dict(await request.post())


async def auth(request: web.Request) -> web.StreamResponse:
    device = request.app[DEVICE_KEY]
    fields = await _fields(request)
    username = str(fields.get("username", ""))
    password = str(fields.get("password", ""))
    if not device.authenticate(username, password):
        return web.json_response({"error": "invalid credentials"}, status=401)
    sid = secrets.token_hex(16)
    csrf = secrets.token_hex(16)
    if len(device.sessions) >= MAX_SESSIONS:
        device.sessions.pop(next(iter(device.sessions)))
    device.sessions[sid] = (csrf, username)
    body = {
        "ok": True,
        "fwversion": FIRMWARE,
        "boardinfo": {"name": device.spec.model},
        "password_change_required": device.must_change_password,
    }
    response = web.json_response(body, headers={CSRF_HEADER: csrf})
    response.set_cookie(COOKIE, sid, httponly=True, path="/")
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    device, _ = _session(request, csrf=True)
    device.sessions.pop(request.cookies.get(COOKIE, ""), None)
    return web.json_response({"ok": True})


async def change_password(request: web.Request) -> web.StreamResponse:
    device, username = _session(request, csrf=True)
    fields = await _fields(request)
    current = str(fields.get("currentPassword", fields.get("current_password", "")))
    new = str(fields.get("newPassword", fields.get("new_password", "")))
    if not device.authenticate(username, current):
        return web.json_response({"error": "current password is wrong"}, status=403)
    try:
        device.change_password(username, new)
    except KopnetError as exc:
        return web.json_response({"error": exc.message}, status=400)
    return web.json_response({"ok": True})


async def status(request: web.Request) -> web.StreamResponse:
    device, _ = _session(request, csrf=False)
    _require_password_changed(device)
    return web.json_response(device.status())


async def getcfg(request: web.Request) -> web.StreamResponse:
    device, _ = _session(request, csrf=False)
    _require_password_changed(device)
    return web.Response(text=device.export(), content_type="text/plain")


async def writecfg(request: web.Request) -> web.StreamResponse:
    device, _ = _session(request, csrf=True)
    _require_password_changed(device)
    if request.content_type == "multipart/form-data":
        form = await request.post()
        field = next(iter(form.values()), "")
        text = field.file.read().decode() if isinstance(field, web.FileField) else str(field)
    elif request.content_type == "application/x-www-form-urlencoded":
        form = await request.post()
        text = str(form.get("cfgData", form.get("config", "")))
    else:
        text = await request.text()
    try:
        device.write_config(text)
    except ParseError as exc:
        return web.json_response({"ok": False, "error": exc.message}, status=400)
    except KopnetError as exc:
        return web.json_response({"ok": False, "error": exc.message}, status=500)
    return web.json_response({"ok": True})


def make_app(device: AirOSDevice) -> web.Application:
    app = web.Application(middlewares=[_faults], client_max_size=1024 * 1024)
    app[DEVICE_KEY] = device
    app.router.add_post("/api/auth", auth)
    app.router.add_post("/api/auth/logout", logout)
    app.router.add_post("/api/auth/change-password", change_password)
    app.router.add_get("/status.cgi", status)
    app.router.add_get("/getcfg.cgi", getcfg)
    app.router.add_post("/writecfg.cgi", writecfg)
    return app
