"""One adb transport connection: packets in, streams multiplexed, flow control (one unacknowledged WRTE per
stream, CLSE only after the last WRTE was acknowledged), as adbd does."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable

from benchmark.emulated import protocol as p

log = logging.getLogger(__name__)


class Stream:
    def __init__(self, transport: Transport, local_id: int, remote_id: int) -> None:
        self.transport = transport
        self.local_id = local_id
        self.remote_id = remote_id
        self.inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.closed = asyncio.Event()  # the host closed the stream
        self._acked = asyncio.Event()
        self._acked.set()
        self._buffer = b""
        self._closed_by_us = False

    # host -> device
    def on_data(self, data: bytes) -> None:
        self.inbox.put_nowait(data)

    def on_okay(self) -> None:
        self._acked.set()

    def on_close(self) -> None:
        self.closed.set()
        self._acked.set()
        self.inbox.put_nowait(None)

    async def read_exact(self, n: int) -> bytes:
        """Exactly n bytes of the stream's byte stream, whatever the WRTE boundaries were."""
        while len(self._buffer) < n:
            chunk = await self.inbox.get()
            if chunk is None:
                raise EOFError("stream closed by the host")
            self._buffer += chunk
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    # device -> host
    async def write(self, data: bytes) -> bool:
        """Send data in WRTEs of at most the negotiated size; False when the host has closed the stream."""
        size = self.transport.max_payload
        for i in range(0, len(data), size):
            await self._acked.wait()
            if self.closed.is_set():
                return False
            self._acked.clear()
            await self.transport.send(p.Packet(p.WRTE, self.local_id, self.remote_id, data[i : i + size]))
        return not self.closed.is_set()

    async def close(self) -> None:
        if self._closed_by_us:
            return
        self._closed_by_us = True
        if not self.closed.is_set():
            await self._acked.wait()
            await self.transport.send(p.Packet(p.CLSE, self.local_id, self.remote_id))
        self.transport.streams.pop(self.local_id, None)


ServiceHandler = Callable[[Stream, str], Awaitable[None]]


class Transport:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        banner: str,
        auth_mode: str,
        open_service: Callable[[str], ServiceHandler | None],
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.banner = banner
        self.auth_mode = auth_mode  # "none" (accept at once) or "unauthorized"
        self.open_service = open_service
        self.streams: dict[int, Stream] = {}
        self.max_payload = 4096
        self._next_id = 1
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    async def send(self, packet: p.Packet) -> None:
        async with self._lock:
            self.writer.write(packet.encode())
            await self.writer.drain()

    async def run(self) -> None:
        try:
            while True:
                head = await self.reader.readexactly(p.HEADER.size)
                command, arg0, arg1, length = p.decode_header(head)
                data = await self.reader.readexactly(length) if length else b""
                await self._dispatch(command, arg0, arg1, data)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError) as e:
            log.debug("transport closed: %s", e)
        finally:
            for stream in list(self.streams.values()):
                stream.on_close()
            for task in list(self._tasks):
                task.cancel()
            self.writer.close()

    async def _dispatch(self, command: int, arg0: int, arg1: int, data: bytes) -> None:
        if command == p.CNXN:
            self.max_payload = max(256, min(arg1, p.MAX_PAYLOAD))
            if self.auth_mode == "unauthorized":
                await self.send(p.Packet(p.AUTH, p.AUTH_TOKEN, 0, os.urandom(20)))
            else:
                await self.send(p.Packet(p.CNXN, p.A_VERSION, p.MAX_PAYLOAD, self.banner.encode()))
        elif command == p.AUTH:
            if arg0 == p.AUTH_SIGNATURE:  # never accept: the host then offers its public key, which we ignore
                await self.send(p.Packet(p.AUTH, p.AUTH_TOKEN, 0, os.urandom(20)))
        elif command == p.OPEN:
            service = data.rstrip(b"\0").decode("utf-8", errors="replace")
            handler = self.open_service(service)
            if handler is None:
                await self.send(p.Packet(p.CLSE, 0, arg0))
                return
            local_id = self._next_id
            self._next_id += 1
            stream = Stream(self, local_id, arg0)
            self.streams[local_id] = stream
            await self.send(p.Packet(p.OKAY, local_id, arg0))
            task = asyncio.create_task(self._serve(handler, stream, service))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif command == p.OKAY:
            if (s := self.streams.get(arg1)) is not None:
                s.on_okay()
        elif command == p.WRTE:
            if (s := self.streams.get(arg1)) is not None:
                await self.send(p.Packet(p.OKAY, arg1, arg0))
                s.on_data(data)
        elif command == p.CLSE:
            if (s := self.streams.pop(arg1, None)) is not None:
                s.on_close()

    async def _serve(self, handler: ServiceHandler, stream: Stream, service: str) -> None:
        try:
            await handler(stream, service)
        except (EOFError, ConnectionError):
            pass
        except Exception:  # a bug in a service must not take the whole device down
            log.exception("service %r failed", service)
        finally:
            await stream.close()
