"""Respond: incidents, on call and escalation, the communication plan, continuity strategies."""
