"""Deploy stage of the pipeline: a village rolled out as one transaction, verified, recorded.

- :mod:`.tasks` — Nornir tasks on NAPALM hosts (read running, plan, arm + apply, confirm,
  revert, pending commit, collect verification data), usable with ``nr.run()``;
- ``checks.yaml``, :mod:`.verify`, :mod:`.expect` — verification as data: role
  checks, a pure evaluator over getter data, what the inventory expects of each device;
- :mod:`.checking` — one round of checks of a village, and ``kopnet verify``;
- :mod:`.intent` — rendered intent per device, secrets preflight and masking;
- :mod:`.gateway` — the Linux gateway's part (Ansible check mode, apply, its device-side revert);
- :mod:`.planning`, :mod:`.transaction` — ``kopnet deploy`` / ``rollback``;
- :mod:`.recover` — releases left in doubt resolved by reading the devices;
- :mod:`.runner`, :mod:`.report` — Nornir over a village, progress events and the report.
"""
