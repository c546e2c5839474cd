"""N loopback targets for the detection benchmarks, served by a process of their own.

`Targets(n)` starts `python benchmarks/_targets.py serve ...`: one single-threaded epoll
loop holding, on 127.0.0.1 and n distinct ports,

- a TCP listener that accepts, answers an HTTP request with `200 OK` (Connection: close)
  and closes; a client that hangs up without asking anything (a TCP probe) is just closed;
- a UDP socket on the same port number that answers a SIP OPTIONS with `SIP/2.0 200 OK`,
  echoing Via, From, To (with a tag), Call-ID and CSeq as RFC 3261 8.2.6 asks.

The targets' CPU is their own process's, so it is counted for neither side of a
comparison (`cpu_seconds` reports it). The parent can kill targets (`close`): the
listener and the UDP socket are closed and the wall-clock time of the closing is
returned, so that a benchmark can time detection from the moment of death.

The server stops by itself when its standard input closes (the parent died or is done),
on `quit`, or after `--max-seconds` whatever happens. Only 127.0.0.1 is ever bound.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import queue
import resource
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HOST = "127.0.0.1"
DEFAULT_BASE_PORT = 20000  # below Linux's ephemeral range (32768-60999), so clients never collide
HTTP_REPLY = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
)
CLK_TCK = os.sysconf("SC_CLK_TCK")


def raise_nofile(wanted: int) -> int:
    """Raise this process's open-file limit towards `wanted` (up to the hard limit); the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of process `pid`, all its threads, from /proc/PID/stat."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14 and 15)


class Targets:
    """The target process, seen from the benchmark: its ports, its CPU, and killing targets."""

    def __init__(self, count: int, *, base_port: int = DEFAULT_BASE_PORT, max_seconds: float = 900) -> None:
        """Start `count` targets; raises RuntimeError when they cannot all be bound."""
        self.count = count
        self._replies: queue.Queue[str] = queue.Queue()
        self._process = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "serve",
                "--count",
                str(count),
                "--base-port",
                str(base_port),
                "--max-seconds",
                str(max_seconds),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert self._process.stdout is not None
        first = self._process.stdout.readline()
        if not first:
            self._process.wait(10)
            raise RuntimeError(f"the target process stopped at start (exit {self._process.returncode})")
        hello = json.loads(first)
        self.ports: list[int] = hello["ports"]
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        """The target process's id."""
        return self._process.pid

    def cpu_seconds(self) -> float:
        """CPU seconds the target process has used so far."""
        return process_cpu_seconds(self._process.pid)

    def close(self, ports: list[int], timeout: float = 10.0) -> float:
        """Kill the targets on `ports` at once; the wall-clock time (time.time()) they died."""
        self._send(f"close {','.join(str(p) for p in ports)}")
        reply = self._replies.get(timeout=timeout)
        word, _, when = reply.partition(" ")
        if word != "closed":
            raise RuntimeError(f"unexpected reply from the target process: {reply!r}")
        return float(when)

    def stop(self) -> None:
        """Stop the target process (politely, then by its pid)."""
        with contextlib.suppress(BrokenPipeError, OSError, ValueError):
            self._send("quit")
            assert self._process.stdin is not None
            self._process.stdin.close()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)

    def __enter__(self) -> Targets:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _send(self, line: str) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(line + "\n")
        self._process.stdin.flush()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._replies.put(line.strip())


# ---- the server process -------------------------------------------------------------------


def sip_reply(request: bytes) -> bytes | None:
    """`SIP/2.0 200 OK` to an OPTIONS request, with its Via, From, To, Call-ID and CSeq; else None."""
    head = request.split(b"\r\n\r\n", 1)[0]
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"OPTIONS "):
        return None
    out = [b"SIP/2.0 200 OK"]
    for line in lines[1:]:
        name = line.split(b":", 1)[0].strip().lower()
        if name in (b"via", b"v", b"from", b"f", b"call-id", b"i", b"cseq"):
            out.append(line)
        elif name in (b"to", b"t"):
            out.append(line + b";tag=bench")
    out.append(b"Allow: OPTIONS")
    out.append(b"Content-Length: 0")
    return b"\r\n".join(out) + b"\r\n\r\n"


def serve(count: int, base_port: int, max_seconds: float) -> None:
    """Bind `count` TCP listeners and UDP sockets on 127.0.0.1 and serve them until told to stop."""
    raise_nofile(2 * count + 4096)
    poller = select.epoll()
    listeners: dict[int, socket.socket] = {}  # fd -> listener
    udp: dict[int, socket.socket] = {}  # fd -> UDP socket
    by_port: dict[int, tuple[socket.socket, socket.socket]] = {}
    conns: dict[int, socket.socket] = {}  # fd -> accepted connection
    port = base_port
    while len(by_port) < count:
        if port > 32000:
            raise SystemExit(f"only {len(by_port)} of {count} ports free from {base_port} to 32000")
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        dgram = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # Earlier runs leave this side's closed HTTP connections in TIME_WAIT: bind over them.
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind((HOST, port))
            dgram.bind((HOST, port))
        except OSError:
            tcp.close()
            dgram.close()
            port += 1
            continue
        tcp.listen(1024)
        tcp.setblocking(False)
        dgram.setblocking(False)
        listeners[tcp.fileno()] = tcp
        udp[dgram.fileno()] = dgram
        by_port[port] = (tcp, dgram)
        poller.register(tcp.fileno(), select.EPOLLIN)
        poller.register(dgram.fileno(), select.EPOLLIN)
        port += 1
    control = sys.stdin.fileno()
    os.set_blocking(control, False)
    poller.register(control, select.EPOLLIN)
    sys.stdout.write(json.dumps({"ports": sorted(by_port)}) + "\n")
    sys.stdout.flush()
    pending = b""
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        for fd, _events in poller.poll(1.0):
            if fd in conns:
                conn = conns[fd]
                try:
                    data = conn.recv(4096)
                    if data and b"\r\n\r\n" in data:
                        conn.send(HTTP_REPLY)
                    elif data:
                        continue  # the rest of a request is on its way
                except OSError:
                    pass  # reset by the client (Standby's TCP probe closes with a reset)
                poller.unregister(fd)
                del conns[fd]
                conn.close()
            elif fd in listeners:
                listener = listeners[fd]
                for _ in range(64):
                    try:
                        conn, _addr = listener.accept()
                    except BlockingIOError:
                        break
                    except OSError as exc:
                        if exc.errno in (errno.EMFILE, errno.ENFILE):
                            break
                        continue
                    conn.setblocking(False)
                    conns[conn.fileno()] = conn
                    poller.register(conn.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
            elif fd in udp:
                dgram = udp[fd]
                for _ in range(64):
                    try:
                        data, peer = dgram.recvfrom(65535)
                    except BlockingIOError:
                        break
                    except OSError:
                        continue  # an ICMP error from an earlier reply
                    reply = sip_reply(data)
                    if reply is not None:
                        with contextlib.suppress(OSError):
                            dgram.sendto(reply, peer)
            elif fd == control:
                try:
                    chunk = os.read(control, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    return  # the parent is gone
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    command, _, argument = line.decode().strip().partition(" ")
                    if command == "quit":
                        return
                    if command == "close":
                        for text in filter(None, argument.split(",")):
                            pair = by_port.pop(int(text), None)
                            for sock in pair or ():
                                poller.unregister(sock.fileno())
                                listeners.pop(sock.fileno(), None)
                                udp.pop(sock.fileno(), None)
                                sock.close()
                        sys.stdout.write(f"closed {time.time():.6f}\n")
                        sys.stdout.flush()


def main() -> None:
    """`serve`: run the target server (started by `Targets`, not by hand)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["serve"])
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--base-port", type=int, default=DEFAULT_BASE_PORT)
    parser.add_argument("--max-seconds", type=float, default=900)
    args = parser.parse_args()
    serve(args.count, args.base_port, args.max_seconds)


if __name__ == "__main__":
    main()
