"""KopNet IaC: infrastructure as code for village internet POPs.

The package folders follow the pipeline: ``inventory`` (load + validate + address plan),
``render`` (Jinja2 to intended configs), ``platforms`` (per-platform parse/plan/lint),
``drivers`` (moving bytes to devices), ``deploy`` (the village transaction), ``state``
(releases), ``lab`` (emulated devices and the namespace gateway), ``report`` and ``cli``.
"""

from __future__ import annotations

__version__ = "0.1.0"
