"""Replacing failed hardware: a factory-fresh device to the configuration of the current
release, online (:mod:`.flow`) or from an offline bundle (:mod:`.bundle`)."""
