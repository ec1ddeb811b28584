"""Finds a zoo model's files: a local models folder first, then the download cache, then the official URL.

A local folder that exists but is incomplete or corrupt is an error for that model (no silent fall-through).
Downloads have short connect timeouts, report progress on stderr, are extracted safely, checked against the
zoo's sha256 and moved into the cache atomically.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import shutil
import socket
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from converter.base.errors import ToolkitError
from converter.base.locations import SHARED_DIR
from converter.schema.manifest_types import SourceInfo
from converter.schema.zoo import ZooModel
from converter.sources.archive import ArchiveError, extract
from converter.sources.model_files import ModelFiles, find_model_files, sha256_file

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 60.0


class ModelUnavailable(ToolkitError):
    """The model's files are neither local nor cached, and downloading them failed."""


class FetchError(ToolkitError):
    """A download arrived but is unusable (unsafe archive, wrong checksum, no model inside)."""


@dataclass(frozen=True)
class ModelSource:
    kind: str  # local | cache | download
    files: ModelFiles
    sha256: dict[str, str]
    checksum_status: str  # verified | mismatch | unknown
    warnings: tuple[str, ...] = ()
    url: str | None = None

    def info(self) -> SourceInfo:
        """As the manifest records it."""
        return SourceInfo(
            kind=self.kind,
            folder=str(self.files.folder.resolve()),  # absolute: the manifest is read from other folders
            model_file=self.files.model_file.name,
            params_file=self.files.params_file.name,
            layout=self.files.layout,
            url=self.url,
            sha256=self.sha256,
            checksum_status=self.checksum_status,
            warnings=list(self.warnings),
        )


def default_models_dir() -> Path | None:
    """$MODELS_DIR, else ../shared/models beside the repository when it exists (the official folders, for use
    without internet); None: download (or use the cache)."""
    if os.environ.get("MODELS_DIR"):
        return Path(os.environ["MODELS_DIR"])
    shared = SHARED_DIR / "models"
    return shared if shared.is_dir() else None


def default_cache_dir() -> Path:
    env = os.environ.get("PP_LITE_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pp-lite-toolkit" / "models"


def checksums(files: ModelFiles) -> dict[str, str]:
    return {name: sha256_file(p) for name, p in files.input_files().items()}


def _compare(model: ZooModel, actual: dict[str, str]) -> tuple[str, list[str]]:
    known = {n: h for n, h in model.sha256.items() if n in actual}
    bad = [
        f"{n}: sha256 {actual[n][:12]}... differs from the official {h[:12]}..."
        for n, h in known.items()
        if actual[n] != h
    ]
    if bad:
        return "mismatch", bad
    return ("verified" if known else "unknown"), []


def resolve(model: ZooModel, models_dir: Path | None, cache_dir: Path, *, download: bool = True) -> ModelSource:
    folder = model.archive_folder
    if models_dir is not None:
        local = models_dir / folder
        if local.exists():
            files = find_model_files(local)  # raises for an incomplete/corrupt folder: no fall-through
            sums = checksums(files)
            status, bad = _compare(model, sums)
            warnings = tuple(
                f"local folder {local} does not match the official files ({b}); using it as given "
                "(a re-export or fine-tune under the same name?)"
                for b in bad
            )
            return ModelSource("local", files, sums, status, warnings, model.url)
    cached = cache_dir / folder
    if cached.exists():
        files = find_model_files(cached)
        sums = checksums(files)
        status, bad = _compare(model, sums)
        if bad:
            raise FetchError(
                f"{model.name}: the cached copy {cached} is corrupt ({'; '.join(bad)}); delete that folder to "
                "download it again"
            )
        return ModelSource("cache", files, sums, status, (), model.url)
    where = (
        f"no local folder {models_dir / folder} (MODELS_DIR)"
        if models_dir
        else "MODELS_DIR not set (and no ../shared/models beside the repository)"
    )
    hint = (
        f"put the official folder {folder}/ (model.pdmodel, model.pdiparams, deploy.yaml) under MODELS_DIR "
        f"(--models-dir), or unpack {model.url} there"
    )
    if not download:
        raise ModelUnavailable(f"{model.name}: not available: {where}, no cached copy in {cached}; {hint}")
    try:
        return _download(model, cache_dir)
    except _DownloadFailed as e:
        raise ModelUnavailable(
            f"{model.name}: not available: {where}, no cached copy in {cached}, and the download failed ({e}); {hint}"
        ) from None


class _DownloadFailed(Exception):
    pass


def _resolve_host(url: str) -> None:
    host = urllib.parse.urlparse(url).hostname
    if not host:
        return
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        pool.submit(socket.getaddrinfo, host, None).result(timeout=CONNECT_TIMEOUT_S)
    except concurrent.futures.TimeoutError:
        raise _DownloadFailed(f"could not resolve {host} within {CONNECT_TIMEOUT_S:.0f} s") from None
    except OSError as e:
        raise _DownloadFailed(f"cannot resolve {host}: {e}") from None
    finally:
        pool.shutdown(wait=False)


def _fetch_to(url: str, dest: Path, name: str) -> None:
    if urllib.parse.urlparse(url).scheme in ("http", "https"):
        _resolve_host(url)
    try:
        with urllib.request.urlopen(url, timeout=CONNECT_TIMEOUT_S) as resp, dest.open("wb") as out:
            if resp.fp is not None and getattr(resp.fp, "raw", None) is not None:
                sock = getattr(resp.fp.raw, "_sock", None)
                if sock is not None:
                    sock.settimeout(READ_TIMEOUT_S)
            total = int(resp.headers.get("Content-Length") or 0)
            done = 0
            next_report = 0.25
            while chunk := resp.read(1 << 20):
                out.write(chunk)
                done += len(chunk)
                if total and done / total >= next_report:
                    log.info("%s: downloaded %.0f%% (%d / %d bytes)", name, 100 * done / total, done, total)
                    next_report += 0.25
    except urllib.error.HTTPError as e:
        raise _DownloadFailed(f"HTTP {e.code} {e.reason} from {url}") from None
    except urllib.error.URLError as e:
        raise _DownloadFailed(f"cannot reach {url}: {e.reason}") from None
    except TimeoutError:
        raise _DownloadFailed(f"no data from {url} within {READ_TIMEOUT_S:.0f} s") from None
    except OSError as e:
        raise _DownloadFailed(f"download of {url} failed: {e}") from None


def _download(model: ZooModel, cache_dir: Path) -> ModelSource:
    cache_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{model.name}.", dir=cache_dir))
    try:
        archive = work / "archive"
        log.info("%s: downloading %s", model.name, model.url)
        _fetch_to(model.url, archive, model.name)
        unpacked = work / "unpacked"
        unpacked.mkdir()
        try:
            extract(archive, unpacked)
        except ArchiveError as e:
            raise FetchError(f"{model.name}: download from {model.url} rejected: {e}") from None
        inner = unpacked / model.archive_folder
        root = inner if inner.is_dir() else unpacked
        files = find_model_files(root)
        sums = checksums(files)
        status, bad = _compare(model, sums)
        if bad:
            raise FetchError(
                f"{model.name}: download from {model.url} rejected: {'; '.join(bad)} (corrupt or tampered archive)"
            )
        final = cache_dir / model.archive_folder
        os.replace(root, final)
        files = find_model_files(final)
        log.info("%s: cached in %s (checksums %s)", model.name, final, status)
        return ModelSource("download", files, sums, status, (), model.url)
    finally:
        shutil.rmtree(work, ignore_errors=True)
