"""Emulated MikroTik RouterOS 7 device for the lab.

:class:`~kopnet_iac.lab.routeros.device.RouterOSDevice` speaks the RouterOS API and the SSH
console well enough for unmodified librouteros, napalm-ros and netmiko::

    device = RouterOSDevice(spec, state_dir, network, faults)
    await device.start()          # listens on spec.host:spec.api_port and :spec.ssh_port
    ...
    await device.stop()

Layout: ``wire`` (API word format), ``api`` (API sessions), ``console`` (SSH), ``script``
(interpreter over the engine's tokenizer), ``core`` (command semantics), ``store`` (state),
``views`` (live menus), ``system`` (files, backup, import/export, ping), ``scheduler``,
``exporter``, ``factory`` (fresh and defconf state), ``schema`` (per-menu data).
"""
