"""The one subprocess wrapper: argv lists only, an explicit deadline, output captured, the exit code checked by
the caller through `ProcessResult`. Native tools (opt, the Paddle-Lite runtime) abort or segfault on bad input, so
they always run in a child process through here."""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
Popen = subprocess.Popen  # re-exported for type hints of spawned helpers


@dataclass(frozen=True)
class ProcessResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    elapsed_s: float
    timed_out: bool

    @property
    def command(self) -> str:
        return shlex.join(self.argv)

    def tail(self, lines: int = 12) -> str:
        """The last lines of stderr then stdout, for error messages."""
        text = (self.stderr.strip() + "\n" + self.stdout.strip()).strip()
        return "\n".join(text.splitlines()[-lines:])

    @property
    def signal_name(self) -> str | None:
        if self.returncode < 0:
            try:
                return signal.Signals(-self.returncode).name
            except ValueError:
                return f"signal {-self.returncode}"
        return None


def _kill_group(pid: int) -> None:
    """SIGKILL the process group led by `pid` (the children run with start_new_session); gone already is fine."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def run(
    argv: Sequence[str],
    *,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    on_stderr_line: Callable[[str], None] | None = None,
) -> ProcessResult:
    """Run argv to completion or until timeout_s; on timeout the whole process group is killed. `on_stderr_line`
    sees each line of stderr as it comes (a child's progress reports), the result still holds all of it."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    log.debug("run: %s", shlex.join(argv))
    start = time.monotonic()
    proc = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=full_env,
        cwd=cwd,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    timed_out = False
    try:
        if on_stderr_line is None:
            out, err = proc.communicate(timeout=timeout_s)
        else:
            out, err, timed_out = _communicate_lines(proc, timeout_s, on_stderr_line)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc.pid)
        out, err = proc.communicate()
    except BaseException:
        _kill_group(proc.pid)
        proc.wait()
        raise
    return ProcessResult(
        argv=tuple(argv),
        returncode=proc.returncode,
        stdout=out,
        stderr=err,
        elapsed_s=time.monotonic() - start,
        timed_out=timed_out,
    )


def _communicate_lines(
    proc: subprocess.Popen[str], timeout_s: float, on_line: Callable[[str], None]
) -> tuple[str, str, bool]:
    """communicate(), with stderr read line by line in a thread and each line handed to on_line; on timeout the
    process group is killed. Returns stdout, stderr and whether it timed out."""
    assert proc.stdout is not None and proc.stderr is not None
    out_parts: list[str] = []
    err_lines: list[str] = []

    def read_out() -> None:
        assert proc.stdout is not None
        out_parts.append(proc.stdout.read())

    def read_err() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            err_lines.append(line)
            try:
                on_line(line.rstrip("\n"))
            except Exception:  # a display problem never stops the child's work
                log.debug("stderr line handler failed", exc_info=True)

    readers = [threading.Thread(target=read_out, daemon=True), threading.Thread(target=read_err, daemon=True)]
    for t in readers:
        t.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc.pid)
        proc.wait()
    for t in readers:
        t.join(timeout=10)
    return "".join(out_parts), "".join(err_lines), timed_out


def spawn(
    argv: Sequence[str], *, log_path: Path, env: Mapping[str, str] | None = None, cwd: str | None = None
) -> subprocess.Popen[bytes]:
    """Start a long-running helper (adb server, emulated device) in its own session; output goes to log_path."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log_file:
        log.debug("spawn: %s", shlex.join(argv))
        return subprocess.Popen(
            list(argv),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
        )


def stop(proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """SIGTERM the process (by PID), then SIGKILL its group if it does not exit in time."""
    if proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        proc.wait(timeout=timeout_s)


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists on this host (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class WorkerError(RuntimeError):
    """A line worker died, timed out or answered something that is not a JSON line (the caller says which model);
    `log_path`: the worker's own log."""

    def __init__(self, message: str, *, log_path: Path | None = None) -> None:
        super().__init__(message)
        self.log_path = log_path


class LineWorker:
    """A long-running child (another interpreter, e.g. the Paddle 3 reference) spoken to in JSON lines: one request
    on its stdin, one answer on its stdout, each within a deadline; its stderr goes to `log_path`."""

    def __init__(self, argv: Sequence[str], *, log_path: Path, env: Mapping[str, str] | None = None) -> None:
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        self.argv = tuple(argv)
        with log_path.open("ab") as log_file:
            log.debug("worker: %s", shlex.join(argv))
            self._proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log_file,
                env=full_env,
                start_new_session=True,
            )

    def read(self, timeout_s: float) -> dict[str, object]:
        """The next JSON line the worker writes, within timeout_s."""
        import json
        import select

        assert self._proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._proc.stdout], [], [], max(0.0, left))
            if not ready:
                self.close()
                raise WorkerError(f"no answer within {timeout_s:.0f} s (log: {self.log_path})", log_path=self.log_path)
            chunk = os.read(self._proc.stdout.fileno(), 1 << 16)
            if not chunk:
                code = self._proc.wait()
                raise WorkerError(f"it exited with code {code} (log: {self.log_path})", log_path=self.log_path)
            line += chunk
        try:
            answer = json.loads(line)
        except ValueError:
            raise WorkerError(f"it answered {line[:200]!r}, not a JSON line (log: {self.log_path})") from None
        if not isinstance(answer, dict):
            raise WorkerError(f"it answered {answer!r:.200}, not a JSON object")
        return answer

    def request(self, message: dict[str, object], timeout_s: float) -> dict[str, object]:
        import json

        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(message).encode() + b"\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            code = self._proc.wait()
            raise WorkerError(f"it exited with code {code} (log: {self.log_path})") from None
        return self.read(timeout_s)

    def close(self, timeout_s: float = 10.0) -> None:
        if self._proc.poll() is None:
            try:
                if self._proc.stdin is not None:
                    self._proc.stdin.close()
                self._proc.wait(timeout=timeout_s)
            except (subprocess.TimeoutExpired, OSError):
                _kill_group(self._proc.pid)
                self._proc.wait(timeout=timeout_s)
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None and not stream.closed:
                stream.close()
