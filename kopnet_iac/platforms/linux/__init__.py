"""The Linux gateway platform: configured with Ansible from KopNet's rendered files.

``gateway`` (where a gateway is and how to log in), ``files`` (its rendered configuration),
``inventory`` (Ansible's view of the fleet), ``ansible`` (ansible-runner and its event stream),
``apply`` (snapshot, apply, verify, roll back), ``checks`` (read-only health checks over SSH),
``ansible_plugins`` (the inventory plugin and lookups Ansible loads by path).
"""
