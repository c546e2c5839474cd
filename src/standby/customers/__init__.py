"""Protect customers: the ledger of customers an outage caught (callbacks, calls cut off,
outcomes logged while the CRM is down) and what puts it right (rescheduling, compensation).
"""
