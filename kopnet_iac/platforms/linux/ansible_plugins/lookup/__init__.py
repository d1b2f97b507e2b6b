"""Ansible lookup plugins ``kopnet_gateway_file`` and ``kopnet_password``."""
