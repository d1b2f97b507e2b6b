"""Reports people look at: self-contained HTML pages and SVG drawings (no script, no external
reference; they open from a USB stick with no network).

- :func:`~kopnet_iac.report.release.write_release_report`: one release (outcome, topology,
  timeline, plans, checks, wire cost); every deploy writes ``<state>/reports/<release>.html``;
- :func:`~kopnet_iac.report.topology.render_topology_svg`: a village POP from its inventory;
- :func:`~kopnet_iac.report.compliance.render_compliance_page`: the fleet's drift status,
  worst villages first.
"""
