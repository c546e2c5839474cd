"""Local receivers for the notification benchmark, in a process of their own.

`python benchmarks/_notify_receivers.py` binds, on 127.0.0.1 only:

- an SMTP server (aiosmtpd) that takes every email and notes its `X-Standby-Idempotency-Key`;
- a minimal HTTP/1.1 server (keep-alive) that answers every POST with `201` and a Twilio-style
  `{"sid": ...}`, and notes its `Idempotency-Key`.

It prints one JSON line with the ports, then reads commands on standard input, one a line:
`stats` prints a JSON line (per channel: receipts, distinct keys, when the first and last
came, as Unix time), `reset` forgets everything. It stops when standard input closes (the
benchmark ended or died), or after `--max-seconds` whatever happens. Receivers do not honour
idempotency keys here: every repeat is counted, so duplicates show.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
import threading
import time
from collections import Counter
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

HOST = "127.0.0.1"
REPLY_BODY = b'{"sid": "SM00000000000000000000000000000000", "status": "queued"}'
REPLY = (
    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(REPLY_BODY)).encode()
    + b"\r\n\r\n"
    + REPLY_BODY
)


class Tally:
    """Receipts per channel and key, and when they came."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.keys: dict[str, Counter[str]] = {"sms": Counter(), "email": Counter()}
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}

    def note(self, channel: str, key: str) -> None:
        now = time.time()
        self.keys[channel][key] += 1
        self.first.setdefault(channel, now)
        self.last[channel] = now

    def stats(self) -> dict[str, Any]:
        return {
            channel: {
                "receipts": sum(keys.values()),
                "distinct": len(keys),
                "first_at": self.first.get(channel),
                "last_at": self.last.get(channel),
            }
            for channel, keys in self.keys.items()
        }


TALLY = Tally()


class SmsGateway(asyncio.Protocol):
    """Answers each request at once: 201 and a JSON sid; keeps the connection open."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            lower = head.lower()
            length = 0
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = lower.find(b"\r\n", at + 2)
                length = int(lower[at + 17 : stop if stop >= 0 else len(lower)])
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            at = lower.find(b"\r\nidempotency-key:")
            if at >= 0:
                stop = head.find(b"\r\n", at + 2)
                key = head[at + 18 : stop if stop >= 0 else len(head)].strip().decode()
                TALLY.note("sms", key)
            del self.buffer[:total]
            self.transport.write(REPLY)


class MailHandler:
    """Takes every email; notes its idempotency key."""

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        marker = b"\r\nX-Standby-Idempotency-Key: "
        at = content.find(marker)
        if at >= 0:
            stop = content.find(b"\r\n", at + len(marker))
            TALLY.note("email", content[at + len(marker) : stop].decode())
        return "250 2.0.0 Ok: queued"


async def serve(max_seconds: float) -> None:
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(lambda: SMTP(MailHandler(), hostname="bench.local", loop=loop), HOST, 0)
    http = await loop.create_server(SmsGateway, HOST, 0, backlog=1024)
    ports = {"smtp": smtp.sockets[0].getsockname()[1], "http": http.sockets[0].getsockname()[1]}
    print(json.dumps(ports), flush=True)
    done = asyncio.Event()

    def commands() -> None:
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                future = asyncio.run_coroutine_threadsafe(_stats(), loop)
                print(json.dumps(future.result(10)), flush=True)
            elif command == "reset":
                asyncio.run_coroutine_threadsafe(_reset(), loop).result(10)
                print("{}", flush=True)
        loop.call_soon_threadsafe(done.set)

    threading.Thread(target=commands, daemon=True).start()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), max_seconds)
    smtp.close()
    http.close()


async def _stats() -> dict[str, Any]:
    return TALLY.stats()


async def _reset() -> None:
    TALLY.reset()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-seconds", type=float, default=1800)
    args = parser.parse_args()
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    asyncio.run(serve(args.max_seconds))


if __name__ == "__main__":
    main()
