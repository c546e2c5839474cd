"""Detect: the live state of the plan's components (probes and outages arrive with a later issue)."""
