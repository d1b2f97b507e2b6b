"""The device lab: emulated RouterOS and airOS devices (and Linux gateways) to rehearse on.

Layout:

* ``spec`` — what a device emulator gets (:class:`~kopnet_iac.lab.spec.DeviceSpec`) and may ask
  the lab (:class:`~kopnet_iac.lab.spec.LabNetwork`); ``faults`` — per-device fault state.
* ``topology`` — inventory → device specs, stable ``127.77.<village>.<device>`` addresses.
* ``network`` — link states and ping answers over the lab topology.
* ``daemon`` — the one asyncio process hosting every device; ``control`` — its JSON-lines unix
  socket, pid file and lab directory, and ``lab_stats()``; ``faultspec`` — fault change sets.
* ``wire`` — the relay in front of every device service with the link model (RTT, jitter, loss
  bursts, bandwidth, Nagle); ``wirestats`` — what crossed the wire: connections, round trips,
  bytes, configuration/read commands (``device.wire.stats.snapshot()``, ``kopnet lab stats``).
* ``targets`` — connection details of the running lab for ``--lab`` commands.
* ``routeros/`` and ``airos/`` — the device emulators; ``gateway_netns`` — gateway namespaces.
"""
