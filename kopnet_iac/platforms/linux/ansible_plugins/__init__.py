"""Ansible plugins (inventory, lookups) that read the KopNet inventory.

Ansible loads them by path (``playbooks/ansible.cfg`` or the runner's environment); they are
also importable as Python modules.
"""
