"""Downloads through a real HTTP server on loopback: cache, checksum, safe extraction, clear failures."""

from __future__ import annotations

import functools
import http.server
import io
import tarfile
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from converter.schema.zoo import load_zoo
from converter.sources.fetch import FetchError, ModelUnavailable, resolve
from tests.conftest import HUMAN_V1, SUFFIX, closed_port_url

FOLDER = HUMAN_V1 + SUFFIX


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()
    httpd.server_close()


def _zip_model(models_dir: Path, dest: Path, *, tamper: bool = False, extra: dict[str, bytes] | None = None) -> None:
    with zipfile.ZipFile(dest, "w") as zf:
        for f in sorted((models_dir / FOLDER).iterdir()):
            data = f.read_bytes()
            if tamper and f.name == "model.pdiparams":
                data = data[:-1] + bytes([data[-1] ^ 1])
            zf.writestr(f"{FOLDER}/{f.name}", data)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)


def _entry(write_zoo: Callable[..., Path], base: str):  # type: ignore[no-untyped-def]
    return load_zoo(write_zoo(models=[HUMAN_V1], url_base=base)).get(HUMAN_V1)


def test_download_verify_cache(
    models_dir: Path, tmp_path: Path, server: tuple[str, Path], write_zoo: Callable[..., Path]
) -> None:
    base, root = server
    _zip_model(models_dir, root / f"{FOLDER}.zip")
    cache = tmp_path / "cache"
    src = resolve(_entry(write_zoo, base), None, cache)
    assert src.kind == "download" and src.checksum_status == "verified"
    assert src.files.folder == cache / FOLDER
    assert sorted(p.name for p in cache.iterdir()) == [FOLDER]  # no temporary leftovers
    (root / f"{FOLDER}.zip").unlink()  # second time it must come from the cache
    again = resolve(_entry(write_zoo, base), None, cache)
    assert again.kind == "cache"


def test_tar_gz_archives_work(
    models_dir: Path, tmp_path: Path, server: tuple[str, Path], write_zoo: Callable[..., Path]
) -> None:
    base, root = server
    with tarfile.open(root / f"{FOLDER}.zip", "w:gz") as tf:  # served under the zoo's name
        tf.add(models_dir / FOLDER, arcname=FOLDER)
    assert resolve(_entry(write_zoo, base), None, tmp_path / "cache").checksum_status == "verified"


def test_tampered_download_is_rejected(
    models_dir: Path, tmp_path: Path, server: tuple[str, Path], write_zoo: Callable[..., Path]
) -> None:
    base, root = server
    _zip_model(models_dir, root / f"{FOLDER}.zip", tamper=True)
    cache = tmp_path / "cache"
    with pytest.raises(FetchError, match="corrupt or tampered"):
        resolve(_entry(write_zoo, base), None, cache)
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize("evil", ["../evil.txt", "/tmp/evil-abs.txt", f"{FOLDER}/../../evil2.txt"])
def test_archive_escape_is_refused(
    models_dir: Path, tmp_path: Path, server: tuple[str, Path], write_zoo: Callable[..., Path], evil: str
) -> None:
    base, root = server
    _zip_model(models_dir, root / f"{FOLDER}.zip", extra={evil: b"pwned"})
    cache = tmp_path / "cache"
    with pytest.raises(FetchError, match="outside the extraction folder"):
        resolve(_entry(write_zoo, base), None, cache)
    assert list(cache.iterdir()) == []
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil-abs.txt").exists()


def test_symlink_in_tar_is_refused(tmp_path: Path, server: tuple[str, Path], write_zoo: Callable[..., Path]) -> None:
    base, root = server
    with tarfile.open(root / f"{FOLDER}.zip", "w:gz") as tf:
        link = tarfile.TarInfo(f"{FOLDER}/model.pdmodel")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tf.addfile(link)
        info = tarfile.TarInfo(f"{FOLDER}/x")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(FetchError, match="link or special file"):
        resolve(_entry(write_zoo, base), None, tmp_path / "cache")


def test_http_404_says_where_to_put_files(
    tmp_path: Path, server: tuple[str, Path], write_zoo: Callable[..., Path]
) -> None:
    base, _ = server
    with pytest.raises(ModelUnavailable) as e:
        resolve(_entry(write_zoo, base), tmp_path / "models", tmp_path / "cache")
    msg = str(e.value)
    assert "HTTP 404" in msg and f"{FOLDER}/" in msg and "MODELS_DIR" in msg


def test_not_an_archive(tmp_path: Path, server: tuple[str, Path], write_zoo: Callable[..., Path]) -> None:
    base, root = server
    (root / f"{FOLDER}.zip").write_text("<html>maintenance</html>")
    with pytest.raises(FetchError, match="not a zip or tar archive"):
        resolve(_entry(write_zoo, base), None, tmp_path / "cache")


def test_unreachable_server_is_a_clear_error(tmp_path: Path, write_zoo: Callable[..., Path]) -> None:
    with pytest.raises(ModelUnavailable, match="cannot reach"):
        resolve(_entry(write_zoo, closed_port_url()), None, tmp_path / "cache")


def test_offline_flag_never_downloads(tmp_path: Path, server: tuple[str, Path], write_zoo: Callable[..., Path]) -> None:
    base, _ = server
    with pytest.raises(ModelUnavailable, match="no cached copy"):
        resolve(_entry(write_zoo, base), None, tmp_path / "cache", download=False)
