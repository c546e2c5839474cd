"""Notify: a durable outbox of email, SMS and webhooks, sent once, retried, parked with a reason.

- `outbox`: the service (enqueue, claim, record outcomes, list, retry, cancel).
- `channels/`: email (SMTP), SMS (an HTTP gateway), webhooks (Slack, Teams, signed JSON),
  and a fake for tests, behind the `Channel` protocol.
- `sender`: the asyncio loop that claims due messages and sends them.
- `runner`: the channels the settings configure, and the sender run for real.
"""
