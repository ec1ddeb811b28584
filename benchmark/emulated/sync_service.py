"""`sync:` service, v1 requests: STAT, LIST, SEND, RECV, QUIT (struct sizes exactly as adbd's)."""

from __future__ import annotations

import contextlib
import os
import signal
import struct
from pathlib import Path

from benchmark.emulated.phone import Storage
from benchmark.emulated.sandbox import Sandbox
from benchmark.emulated.transport import Stream

MAX_PATH = 1024
DATA_CHUNK = 64 * 1024 - 8


def _msg(tag: bytes, *values: int) -> bytes:
    return tag + struct.pack(f"<{len(values)}I", *values)


def _fail(text: str) -> bytes:
    raw = text.encode()
    return b"FAIL" + struct.pack("<I", len(raw)) + raw


def _used_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in (root / "data").rglob("*") if p.is_file() and not p.is_symlink())


async def serve_sync(stream: Stream, sandbox: Sandbox, storage: Storage) -> None:
    while True:
        tag, length = struct.unpack("<4sI", await stream.read_exact(8))
        if tag == b"QUIT":
            return
        if length > MAX_PATH:
            await stream.write(_fail(f"path too long: {length}"))
            return
        arg = (await stream.read_exact(length)).decode("utf-8", errors="replace")
        if tag == b"STAT":
            if storage.hangup_on_stat_suffix and arg.endswith(storage.hangup_on_stat_suffix):
                return
            try:
                st = os.lstat(sandbox.host_path(arg))
                await stream.write(_msg(b"STAT", st.st_mode, st.st_size & 0xFFFFFFFF, int(st.st_mtime)))
            except OSError:
                await stream.write(_msg(b"STAT", 0, 0, 0))
        elif tag == b"LIST":
            await _list(stream, sandbox.host_path(arg))
        elif tag == b"RECV":
            await _recv(stream, sandbox.host_path(arg))
        elif tag == b"SEND":
            _fault_on_push(storage, arg)
            if not await _send(stream, sandbox, storage, arg):
                return
        else:
            await stream.write(_fail(f"unknown sync request {tag!r}"))
            return


async def _list(stream: Stream, path: Path) -> None:
    try:
        names = [".", "..", *os.listdir(path)]
    except OSError:
        names = []
    for name in names:
        try:
            st = os.lstat(path / name)
        except OSError:
            continue
        raw = name.encode()
        await stream.write(_msg(b"DENT", st.st_mode, st.st_size & 0xFFFFFFFF, int(st.st_mtime), len(raw)) + raw)
    await stream.write(_msg(b"DONE", 0, 0, 0, 0))


async def _recv(stream: Stream, path: Path) -> None:
    try:
        f = path.open("rb")
    except OSError as e:
        await stream.write(_fail(f"open failed: {e.strerror}"))
        return
    with f:
        while chunk := f.read(DATA_CHUNK):
            await stream.write(b"DATA" + struct.pack("<I", len(chunk)) + chunk)
    await stream.write(_msg(b"DONE", 0))


def _fault_on_push(storage: Storage, arg: str) -> None:
    path = arg.rpartition(",")[0] or arg
    if storage.kill_pid_on_push_suffix and path.endswith(storage.kill_pid_on_push_suffix[1]):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(storage.kill_pid_on_push_suffix[0], signal.SIGKILL)
    if storage.unplug_on_push_suffix and path.endswith(storage.unplug_on_push_suffix):
        os._exit(0)  # the phone is gone: every connection drops at once


async def _send(stream: Stream, sandbox: Sandbox, storage: Storage, arg: str) -> bool:
    device_path, _, mode_text = arg.rpartition(",")
    try:
        mode = int(mode_text, 0)
    except ValueError:
        device_path, mode = arg, 0o644
    chunks: list[bytes] = []
    mtime = 0
    while True:  # drain everything up to DONE, even when the write will fail (adbd does)
        tag, length = struct.unpack("<4sI", await stream.read_exact(8))
        if tag == b"DATA":
            chunks.append(await stream.read_exact(length))
        elif tag == b"DONE":
            mtime = length
            break
        else:
            await stream.write(_fail(f"bad sync data tag {tag!r}"))
            return False
    data = b"".join(chunks)
    target = sandbox.host_path(device_path)
    error = None
    if storage.read_only:
        error = "Read-only file system"
    elif storage.free_bytes is not None and _used_bytes(sandbox.root) + len(data) > storage.free_bytes:
        error = "No space left on device"
    if error is None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_file() or target.is_symlink():
                target.unlink()  # like adbd: no ETXTBSY when re-pushing a running binary
            target.write_bytes(data)
            user = (mode >> 6) & 0o7
            target.chmod((mode & 0o7000) | (user << 6) | (user << 3) | user)
            if mtime:
                os.utime(target, (mtime, mtime))
        except OSError as e:
            error = e.strerror or str(e)
    if error is not None:
        await stream.write(_fail(f"couldn't create file: {error}"))
        return False
    await stream.write(_msg(b"OKAY", 0))
    return True
