"""`shell:`, `exec:` and `shell,v2:` services with adbd's semantics: v1/exec merge stderr into stdout and lose the
exit code; v2 frames stdout (1), stderr (2) and the exit code (3; 128+signal when killed). When the host closes
the stream the command's process group gets SIGHUP, as adbd's does (a runner that ignores it keeps running)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import struct

from benchmark.emulated.sandbox import Sandbox
from benchmark.emulated.transport import Stream

ID_STDIN, ID_STDOUT, ID_STDERR, ID_EXIT, ID_CLOSE_STDIN = 0, 1, 2, 3, 4


def _packet(kind: int, data: bytes) -> bytes:
    return struct.pack("<BI", kind, len(data)) + data


def parse_service(service: str) -> tuple[bool, str] | None:
    """'shell:CMD' / 'exec:CMD' -> (False, CMD); 'shell,v2[,opts]:CMD' -> (True, CMD); else None."""
    head, sep, cmd = service.partition(":")
    if not sep:
        return None
    if head in ("shell", "exec"):
        return False, cmd
    options = head.split(",")
    if options[0] == "shell" and "v2" in options[1:]:
        return True, cmd
    return None


async def serve_shell(stream: Stream, sandbox: Sandbox, v2: bool, cmd: str) -> None:
    if not cmd.strip():
        cmd = "exit 0"  # interactive shells are not emulated
    argv, cwd, env = sandbox.command(cmd)
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE if v2 else asyncio.subprocess.STDOUT,
        cwd=cwd,
        env=env,
        start_new_session=True,
    )

    async def pump(reader: asyncio.StreamReader | None, kind: int) -> None:
        if reader is None:
            return
        while chunk := await reader.read(65536):
            if not await stream.write(_packet(kind, chunk) if v2 else chunk):
                return

    async def feed_stdin() -> None:
        assert proc.stdin is not None
        with contextlib.suppress(EOFError, ConnectionError):
            while True:
                if v2:
                    kind, length = struct.unpack("<BI", await stream.read_exact(5))
                    data = await stream.read_exact(length) if length else b""
                    if kind == ID_CLOSE_STDIN:
                        proc.stdin.close()
                        return
                    if kind == ID_STDIN:
                        proc.stdin.write(data)
                else:
                    chunk = await stream.inbox.get()
                    if chunk is None:
                        return
                    proc.stdin.write(chunk)
                await proc.stdin.drain()

    async def hangup_on_close() -> None:
        await stream.closed.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGHUP)

    watchers = [asyncio.create_task(feed_stdin()), asyncio.create_task(hangup_on_close())]
    try:
        await asyncio.gather(pump(proc.stdout, ID_STDOUT), pump(proc.stderr, ID_STDERR))
        code = await proc.wait()
        if v2 and not stream.closed.is_set():
            status = 128 - code if code < 0 else code
            await stream.write(_packet(ID_EXIT, bytes([status & 0xFF])))
    finally:
        for w in watchers:
            w.cancel()
