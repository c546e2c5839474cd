"""SIP OPTIONS over UDP through shared sockets: many checks on one socket, told apart by Call-ID.

A socket per check cost a socket, a bind, an epoll registration and removal, a close and a
timer each time: as much as the TCP probe's whole check. Here a checker keeps one
non-blocking UDP socket per address family (more when many checks are pending at once)
and a check is a `sendto`, an entry in a dict and a future:

- Replies are drained by one reader callback until EAGAIN, matched to their check by the
  Call-ID (a bytes search, before any parsing); replies to no pending check are dropped,
  and a datagram without a Call-ID (garbage, a keep-alive) goes to the checks pending
  towards the address it came from. A reply carrying our Call-ID counts from whatever
  address it comes (a multihomed peer may answer from another): the 96 random bits of
  the Call-ID, not the source address, keep forged replies out.
- ICMP errors are read from the socket's error queue (Linux's IP_RECVERR and
  MSG_ERRQUEUE): the kernel hands back the start of the datagram that failed, whose
  Call-ID names the check, else the checks pending towards its destination fail.
- Timer E (RFC 3261 17.1.2.2) without a timer per check: the pending checks are kept in
  the order of their last transmission, and every interval is at least T1, so one timer
  sweeps them from the oldest and stops at the first sent less than T1 ago; a check is
  forgotten as soon as it ends (nothing lingers for the garbage collector).
- Each socket takes at most as many pending checks as its receive buffer holds replies,
  so that a burst of replies is not dropped by the kernel (a retransmission would find
  the peer done with the transaction, as SIPp is, and the check would time out).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import math
import os
import re
import socket
import struct
import sys
import time

from standby.detect.probes.net import MAX_DATAGRAM, SockAddr, Target
from standby.detect.probes.result import ProbeFailure, Progress
from standby.detect.probes.sip_message import SipReply, SipTarget, build_options, is_ours, parse_reply

T1, T2 = 0.5, 4.0
SWEEP_S = 0.02  # retransmissions run up to this late: timer E's intervals are 25 times longer
RECEIVE_BUFFER = 2 << 20  # asked for; Linux grants up to net.core.rmem_max, doubled
REPLY_TRUESIZE = 2048  # kernel memory a queued reply of up to ~1 KiB takes from the buffer
LOCAL_HOST_TTL_S = 60.0  # the local address towards a target, as routing chose it, kept this long
_IP_RECVERR, _IPV6_RECVERR = 11, 25  # linux/in.h, linux/in6.h (not exported by Python's socket)
_LINUX = sys.platform == "linux"  # elsewhere no error queue: an ICMP error ends as a timeout
_CALL_ID = re.compile(rb"\n(?:call-id|i)[ \t]*:[ \t]*([^@\s]+)", re.IGNORECASE)
_DRAIN_LIMIT = 512  # datagrams per reader callback, so that a flood cannot starve the loop


class Exchange:
    """One OPTIONS check in flight: its request, retransmission state and the future it awaits."""

    __slots__ = (
        "call_id",
        "due",
        "future",
        "interval",
        "lane",
        "progress",
        "request",
        "rtt_ms",
        "sent",
        "sockaddr",
        "start",
    )

    def __init__(
        self,
        call_id: str,
        sockaddr: SockAddr,
        request: bytes,
        lane: _Lane,
        future: asyncio.Future[SipReply],
        progress: Progress,
    ) -> None:
        self.call_id = call_id
        self.sockaddr = sockaddr
        self.request = request
        self.lane = lane
        self.future = future
        self.progress = progress
        self.start = self.rtt_ms = 0.0
        self.interval = T1
        self.sent = self.due = 0.0  # loop time of the last transmission (or 1xx), and of the next


class _Lane:
    """One shared socket and how many checks are pending on it."""

    __slots__ = ("capacity", "pending", "port", "sock")

    def __init__(self, family: socket.AddressFamily) -> None:
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self.sock.setblocking(False)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            if family == socket.AF_INET6:
                self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                if _LINUX:
                    self.sock.setsockopt(socket.IPPROTO_IPV6, _IPV6_RECVERR, 1)
                self.sock.bind(("::", 0))
            else:
                if _LINUX:
                    self.sock.setsockopt(socket.IPPROTO_IP, _IP_RECVERR, 1)
                self.sock.bind(("0.0.0.0", 0))
            self.port: int = self.sock.getsockname()[1]
            granted = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        except BaseException:
            self.sock.close()
            raise
        self.capacity = max(1, granted // REPLY_TRUESIZE)
        self.pending = 0


class SharedUdp:
    """The UDP side of a SIP checker on one event loop: shared sockets, pending checks, timer E."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._lanes: dict[socket.AddressFamily, list[_Lane]] = {}
        self._pending: dict[str, Exchange] = {}  # by Call-ID, in the order of their last transmission
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due = 0.0
        self._local_hosts: dict[tuple[socket.AddressFamily, str], tuple[str, float]] = {}
        self._closed = False

    async def exchange(
        self, address: Target, target: SipTarget, ids: tuple[str, str, str], progress: Progress
    ) -> tuple[SipReply, float]:
        """Send OPTIONS to `address` until a final reply comes; that reply and the rtt in ms."""
        if self._closed:
            raise RuntimeError("the SIP checker is closed")
        family, sockaddr = address
        lane = self._lane(family)
        request = build_options(target, (self._local_host(family, sockaddr), lane.port), ids)
        future: asyncio.Future[SipReply] = self.loop.create_future()
        call_id = ids[0]
        exchange = Exchange(call_id, sockaddr, request, lane, future, progress)
        self._pending[call_id] = exchange
        lane.pending += 1
        try:
            exchange.start = time.perf_counter()
            self._send(exchange)
            self._sent(exchange, self.loop.time())
            return await future, exchange.rtt_ms
        finally:
            del self._pending[call_id]
            lane.pending -= 1

    def close(self) -> None:
        """Stop retransmitting and close every shared socket; pending checks fail."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for exchange in self._pending.values():
            if not exchange.future.done():
                exchange.future.set_exception(ProbeFailure("the SIP checker was closed"))
        for lanes in self._lanes.values():
            for lane in lanes:
                if not self.loop.is_closed():
                    self.loop.remove_reader(lane.sock.fileno())
                lane.sock.close()
        self._lanes.clear()

    # --- sockets ---------------------------------------------------------------------------------

    def _lane(self, family: socket.AddressFamily) -> _Lane:
        lanes = self._lanes.get(family)
        if lanes is None:
            lanes = self._lanes[family] = []
        for lane in lanes:
            if lane.pending < lane.capacity:
                return lane
        lane = _Lane(family)
        self.loop.add_reader(lane.sock.fileno(), self._on_readable, lane)
        lanes.append(lane)
        return lane

    def _local_host(self, family: socket.AddressFamily, sockaddr: SockAddr) -> str:
        """The address the target sees us as, for Via, From and Contact (the socket is unbound)."""
        key = (family, sockaddr[0])
        now = self.loop.time()
        known = self._local_hosts.get(key)
        if known is not None and known[1] > now:
            return known[0]
        # A connected UDP socket sends nothing; connecting only asks routing for the source.
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect(sockaddr)
            host: str = probe.getsockname()[0]
        if len(self._local_hosts) > 16384:
            self._local_hosts.clear()
        self._local_hosts[key] = (host, now + LOCAL_HOST_TTL_S)
        return host

    def _send(self, exchange: Exchange) -> None:
        sock = exchange.lane.sock
        for attempt in range(2):
            try:
                sock.sendto(exchange.request, exchange.sockaddr)
                return
            except BlockingIOError:
                return  # a full send buffer loses this copy only: the next retransmission goes
            except OSError as exc:
                # An ICMP error that arrived for another check is reported by whichever call
                # comes first, and the datagram was not sent: hand it over, then send again.
                if attempt == 0 and self._drain_errors(exchange.lane):
                    continue
                if not exchange.future.done():
                    exchange.future.set_exception(exc)  # this check's own: no route, a firewall
                return

    # --- timer E ---------------------------------------------------------------------------------

    def _sent(self, exchange: Exchange, now: float) -> None:
        """Note a transmission (or a 1xx) at `now`: next one after the current interval."""
        exchange.sent = now
        exchange.due = due = now + exchange.interval
        pending = self._pending
        if next(reversed(pending)) != exchange.call_id:
            del pending[exchange.call_id]  # to the end: the dict stays in order of `sent`
            pending[exchange.call_id] = exchange
        if self._timer is None or due < self._timer_due - SWEEP_S:
            self._arm(due)

    def _arm(self, due: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_due = max(due, self.loop.time() + SWEEP_S)
        self._timer = self.loop.call_at(self._timer_due, self._sweep)

    def _sweep(self) -> None:
        self._timer = None
        now = self.loop.time()
        horizon = now + SWEEP_S / 2
        again: list[Exchange] = []
        next_due = math.inf
        for exchange in self._pending.values():
            if exchange.sent + T1 > horizon:
                # Sent less than T1 ago, like every check after it: none of them is due yet.
                next_due = min(next_due, exchange.sent + T1)
                break
            if exchange.due > horizon:
                next_due = min(next_due, exchange.due)
            elif not exchange.future.done():
                again.append(exchange)
        for exchange in again:
            self._send(exchange)
            exchange.interval = min(exchange.interval * 2, T2)
            self._sent(exchange, now)
            next_due = min(next_due, exchange.due)
        if next_due < math.inf and (self._timer is None or next_due < self._timer_due):
            self._arm(next_due)

    # --- replies and errors ------------------------------------------------------------------------

    def _on_readable(self, lane: _Lane) -> None:
        received = 0
        for _ in range(_DRAIN_LIMIT):
            try:
                data, source = lane.sock.recvfrom(MAX_DATAGRAM)
            except BlockingIOError:
                break
            except OSError:
                # The socket's pending ICMP error: the error queue says whose it is.
                if self._drain_errors(lane):
                    continue
                break
            received += 1
            self._deliver(data, source, time.perf_counter())
        if not received:
            self._drain_errors(lane)  # woken by EPOLLERR alone: the error queue is not empty

    def _deliver(self, data: bytes, source: SockAddr, arrived: float) -> None:
        found = _CALL_ID.search(data)
        if found is not None:
            exchange = self._pending.get(found[1].decode("ascii", "replace"))
            if exchange is not None and not exchange.future.done():
                self._answer(exchange, data, arrived)
            return  # a reply to a finished check, or to someone else's request
        for exchange in self._towards(source):
            self._answer(exchange, data, arrived)

    def _answer(self, exchange: Exchange, data: bytes, arrived: float) -> None:
        try:
            reply = parse_reply(data.partition(b"\r\n\r\n")[0])
        except ProbeFailure as exc:
            exchange.future.set_exception(exc)  # not SIP at all: the peer is broken
            return
        if reply is None or not is_ours(reply, exchange.call_id):
            return
        if reply.code >= 200:
            exchange.rtt_ms = (arrived - exchange.start) * 1000
            exchange.future.set_result(reply)
            return
        # A provisional reply: the next retransmission in T2, and every T2 after (RFC 3261 17.1.2.2).
        exchange.interval = T2
        self._sent(exchange, self.loop.time())
        exchange.progress.waiting_for = f"final reply after SIP {reply.code}"

    def _drain_errors(self, lane: _Lane) -> bool:
        """Fail the checks the errors queued on `lane` are for; whether there was any."""
        for count in range(_DRAIN_LIMIT):
            try:
                data, ancillary, _flags, destination = lane.sock.recvmsg(
                    MAX_DATAGRAM, 512, socket.MSG_ERRQUEUE
                )
            except OSError:
                return count > 0  # EAGAIN: the queue is empty
            error = _icmp_errno(ancillary)
            if error is None:
                continue
            found = _CALL_ID.search(data)
            exchange = self._pending.get(found[1].decode("ascii", "replace")) if found else None
            for failed in [exchange] if exchange is not None else self._towards(destination):
                if not failed.future.done():
                    failed.future.set_exception(_unreachable(error))
        return True

    def _towards(self, address: SockAddr) -> list[Exchange]:
        """The pending checks sent to `address` (a slow path: garbage, keep-alives, truncated errors)."""
        host, port = _normal(address)
        return [
            exchange
            for exchange in self._pending.values()
            if not exchange.future.done() and _normal(exchange.sockaddr) == (host, port)
        ]


def _normal(address: SockAddr) -> tuple[str, int]:
    try:
        return str(ipaddress.ip_address(address[0].split("%", 1)[0])), address[1]
    except ValueError:
        return address[0], address[1]


def _icmp_errno(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    """The errno of a `struct sock_extended_err` in the error queue's ancillary data."""
    for level, kind, data in ancillary:
        is_error = (level, kind) in ((socket.IPPROTO_IP, _IP_RECVERR), (socket.IPPROTO_IPV6, _IPV6_RECVERR))
        if is_error and len(data) >= 4:
            error: int = struct.unpack_from("=I", data)[0]
            return error
    return None


def _unreachable(error: int) -> Exception:
    if error == errno.ECONNREFUSED:
        return ProbeFailure("ICMP port unreachable")
    return OSError(error, os.strerror(error))
