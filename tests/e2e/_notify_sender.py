"""A sender process for the crash test: `python _notify_sender.py DATABASE_URL SMS_URL [CONCURRENCY LEASE_S]`.

It sends SMS through the gateway at SMS_URL until SIGTERM (a clean stop) or SIGKILL (a crash).
"""

from __future__ import annotations

import asyncio
import signal
import sys

from standby.clock import SystemClock
from standby.notify.channels.sms import SmsChannel
from standby.notify.sender import Channels, NotifySender, SenderOptions
from standby.store.engine import make_engine, make_session_factory


async def main(database_url: str, sms_url: str, concurrency: int, lease_s: float) -> None:
    engine = make_engine(database_url)
    channel = SmsChannel(url=sms_url, sender="+15550009999", timeout_s=5)
    sender = NotifySender(
        session_factory=make_session_factory(engine),
        clock=SystemClock(),
        channels=Channels({"sms": channel}),
        options=SenderOptions(concurrency=concurrency, batch=concurrency, lease_s=lease_s, poll_s=0.05),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"sender {sender.id} ready", flush=True)
    try:
        await sender.run(stop)
    finally:
        await channel.aclose()
        engine.dispose()
    print(f"sender stopped: {sender.stats}", flush=True)


if __name__ == "__main__":
    url, gateway = sys.argv[1], sys.argv[2]
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    lease = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
    asyncio.run(main(url, gateway, workers, lease))
