"""Sockets shared by the probes: addresses, TCP connections and connected UDP exchanges.

Plain non-blocking sockets driven by the event loop, without asyncio's transports or streams:
a worker runs thousands of checks a second, and the probes need no more than a connect, a
send and a receive. A connected UDP socket is used so that an ICMP "port unreachable" comes
back as ECONNREFUSED instead of a silent timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import ipaddress
import os
import socket
import struct

from standby.detect.probes.result import ProbeFailure, Progress, clean

SockAddr = tuple[str, int] | tuple[str, int, int, int]
Target = tuple[socket.AddressFamily, SockAddr]
_LINGER_RESET = struct.pack("ii", 1, 0)
MAX_DATAGRAM = 65535


def split_host_port(text: str, default_port: int | None = None) -> tuple[str, int]:
    """'host:port' or '[v6]:port' as (host, port); with a default, 'host', '[v6]' and a bare v6 too."""
    text = text.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ProbeFailure(f"malformed address {clean(text)!r}: use [IPv6]:port")
        port_text = rest[1:] if rest else None
    elif default_port is not None and text.count(":") > 1:
        host, port_text = text, None  # a bare IPv6 address
    else:
        host, sep, port_text_or_empty = text.rpartition(":")
        if not sep:
            host, port_text = text, None
        else:
            port_text = port_text_or_empty
    if not host:
        raise ProbeFailure(f"no host in {clean(text)!r}")
    if port_text is None:
        if default_port is None:
            raise ProbeFailure(f"no port in {clean(text)!r}: use host:port")
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ProbeFailure(f"port {clean(port_text)!r} is not a number from 1 to 65535")
    return host, int(port_text)


async def resolve(host: str, port: int, kind: socket.SocketKind, progress: Progress) -> list[Target]:
    """The addresses to try for host:port; an IP literal is used as it is, without a lookup."""
    family = literal_family(host)
    if family == socket.AF_INET:
        return [(family, (host, port))]
    if family == socket.AF_INET6:
        return [(family, (host, port, 0, 0))]
    progress.waiting_for = f"address for {clean(host)}"
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=kind)
    except socket.gaierror as exc:
        raise ProbeFailure(
            f"host name {clean(host)!r} not found ({clean(str(exc.strerror)).lower()})"
        ) from exc
    found: list[Target] = []
    for family, _kind, _proto, _name, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            found.append((family, sockaddr))  # type: ignore[arg-type]
    if not found:
        raise ProbeFailure(f"host name {clean(host)!r} has no IPv4 or IPv6 address")
    return found


@functools.lru_cache(maxsize=4096)
def literal_family(host: str) -> socket.AddressFamily | None:
    """AF_INET or AF_INET6 for an IP address literal, None for a name (cached: targets repeat)."""
    try:
        version = ipaddress.ip_address(host).version
    except ValueError:
        return None
    return socket.AF_INET if version == 4 else socket.AF_INET6


async def connect_any(targets: list[Target]) -> socket.socket:
    """A connected non-blocking TCP socket to the first address that accepts, in order."""
    last: OSError | None = None
    for family, sockaddr in targets:
        try:
            return await connect(family, sockaddr)
        except OSError as exc:
            last = exc
    assert last is not None  # resolve never returns an empty list
    raise last


async def connect(family: socket.AddressFamily, sockaddr: SockAddr) -> socket.socket:
    """A connected non-blocking TCP socket; closed again if connecting fails or is cancelled."""
    # connect_ex and a writer callback, rather than loop.sock_connect, which checks the address
    # again on every call: this is the TCP probe's whole cost, run thousands of times a second.
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        error = sock.connect_ex(sockaddr)
        if error in (errno.EINPROGRESS, errno.EAGAIN):
            loop = asyncio.get_running_loop()
            writable: asyncio.Future[None] = loop.create_future()
            fd = sock.fileno()
            loop.add_writer(fd, _set_done, writable)
            try:
                await writable
            finally:
                loop.remove_writer(fd)
            error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            raise OSError(error, os.strerror(error))
    except BaseException:
        sock.close()
        raise
    return sock


def _set_done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def close_abortively(sock: socket.socket) -> None:
    """Close with a reset rather than FIN, so the check leaves no TIME_WAIT socket behind."""
    reset_on_close(sock)
    sock.close()


def reset_on_close(sock: socket.socket) -> None:
    """Make the socket's close a reset (SO_LINGER 0), for a socket that something else will close."""
    # The peer may already have reset it; closing is all that matters then.
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)


class UdpPeer:
    """A connected non-blocking UDP socket that retransmits a request until a reply is taken.

    Retransmission follows RFC 3261's timer E: the first interval doubles after each send,
    up to a cap, and `hold_interval` keeps it at the cap (after a provisional reply).
    An ICMP error (ECONNREFUSED for "port unreachable") is raised by `receive`.
    """

    def __init__(self, family: socket.AddressFamily, sockaddr: SockAddr) -> None:
        self._loop = asyncio.get_running_loop()
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        self._timer: asyncio.TimerHandle | None = None
        self._waiter: asyncio.Future[bytes] | None = None
        self._error: OSError | None = None
        self._data = b""
        self._interval = 0.0
        self._cap = 0.0
        try:
            self._sock.setblocking(False)
            self._sock.connect(sockaddr)  # no packet is sent: this only fixes the peer
        except BaseException:
            self._sock.close()
            raise

    def __enter__(self) -> UdpPeer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def local_address(self) -> tuple[str, int]:
        """The (host, port) the peer sees this socket as."""
        name = self._sock.getsockname()
        return name[0], name[1]

    def send(self, data: bytes, *, first_interval: float, cap: float) -> None:
        """Send `data` now and again after `first_interval`, doubling up to `cap`, until closed."""
        self._data, self._interval, self._cap = data, first_interval, cap
        self._send_once()

    def hold_interval(self) -> None:
        """Retransmit every `cap` seconds from now on (RFC 3261 17.1.2.2 after a 1xx)."""
        self._interval = self._cap
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._loop.call_later(self._interval, self._send_once)

    async def receive(self) -> bytes:
        """The next datagram from the peer; raises the ICMP error if one came instead."""
        if self._error is not None:
            raise self._error
        try:
            return self._sock.recv(MAX_DATAGRAM)
        except BlockingIOError:
            pass
        waiter: asyncio.Future[bytes] = self._loop.create_future()
        self._waiter = waiter
        fd = self._sock.fileno()
        self._loop.add_reader(fd, self._on_readable)
        try:
            return await waiter
        finally:
            self._loop.remove_reader(fd)
            self._waiter = None

    def close(self) -> None:
        """Stop retransmitting and close the socket."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._sock.close()

    def _send_once(self) -> None:
        self._timer = None
        try:
            self._sock.send(self._data)
        except BlockingIOError:
            pass  # a full send buffer loses this copy only: the next retransmission goes
        except OSError as exc:
            # A pending ICMP error is reported by whichever call comes first: keep it for receive.
            self._fail(exc)
            return
        self._timer = self._loop.call_later(self._interval, self._send_once)
        self._interval = min(self._interval * 2, self._cap)

    def _on_readable(self) -> None:
        if self._waiter is None or self._waiter.done():
            return  # the datagram stays queued in the socket for the next receive
        try:
            data = self._sock.recv(MAX_DATAGRAM)
        except BlockingIOError:
            return
        except OSError as exc:
            self._fail(exc)
            return
        self._waiter.set_result(data)

    def _fail(self, exc: OSError) -> None:
        self._error = exc
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
