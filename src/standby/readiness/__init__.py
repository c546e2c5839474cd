"""Agents' home readiness: the browser check, its verdict against the plan, and who is ready."""
