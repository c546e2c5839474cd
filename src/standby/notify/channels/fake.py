"""A channel for tests: it records what it was asked to send and answers as told."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from standby.notify.channels.protocol import Delivery, DeliveryFailure, OutgoingMessage

Script = Callable[[OutgoingMessage], Delivery | DeliveryFailure | None]


class FakeChannel:
    """Delivers everything (or what `script` says), after `delay_s`; keeps every attempt.

    `script(message)` may return a Delivery, a failure to raise, or None for the default
    delivery (`provider_id` "fake-ID").
    """

    def __init__(self, script: Script | None = None, *, delay_s: float = 0.0) -> None:
        """A fake that answers with `script`, each time after `delay_s`."""
        self.script = script
        self.delay_s = delay_s
        self.attempts: list[OutgoingMessage] = []
        self.delivered: list[OutgoingMessage] = []
        self.closed = False

    async def send(self, message: OutgoingMessage) -> Delivery:
        """Record the attempt, wait, then deliver or raise what the script says."""
        self.attempts.append(message)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        result = self.script(message) if self.script is not None else None
        if isinstance(result, DeliveryFailure):
            raise result
        self.delivered.append(message)
        return result or Delivery(f"fake-{message.id}", "accepted by the fake")

    async def aclose(self) -> None:
        """Nothing to close; remembers that it was asked."""
        self.closed = True
