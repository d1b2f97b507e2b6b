"""Tests of the RouterOS configuration engine."""
