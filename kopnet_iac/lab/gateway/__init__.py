"""Namespace lab for Linux gateways: layout plan (pure) and system helpers."""
