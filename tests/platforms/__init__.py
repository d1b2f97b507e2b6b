"""Tests of the platform engines."""
