"""Ansible inventory plugin ``kopnet``."""
