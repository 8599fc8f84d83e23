"""Vosk models: the catalog, where installed models are found, install and verify.

Install streams the archive (progress bar on stderr), hashes it while it arrives,
unpacks it into a temporary directory beside the target and moves it into place only
when it checks out, so an interrupted install never leaves a half model behind.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from assistant.config import data_dir
from assistant.errors import ModelError

log = logging.getLogger(__name__)

MANIFEST = ".earpiece-manifest.json"
"""Written at install time: sha256 of every file, so verify can spot later damage."""

CHUNK = 1 << 20


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    """Directory name of the model (also the name users type)."""

    lang: str
    """Language tag."""

    url: str
    """Official download URL of the archive."""

    size: int
    """Archive size in bytes; 0 when not recorded."""

    sha256: str
    """Archive sha256; empty when not recorded (install then needs --sha256)."""

    notes: str = ""
    """One line for `models list`."""


def catalog() -> list[CatalogEntry]:
    text = resources.files("assistant._models").joinpath("catalog.toml").read_text(encoding="utf-8")
    return [CatalogEntry(**entry) for entry in tomllib.loads(text).get("model", [])]


def search_dirs() -> list[Path]:
    """``$EARPIECE_MODELS`` (colon-separated), then the XDG data dir's earpiece/models."""
    dirs = [Path(p).expanduser() for p in os.environ.get("EARPIECE_MODELS", "").split(":") if p]
    return dirs + [data_dir() / "models"]


def install_dir() -> Path:
    """Where new models go: the first search dir."""
    return search_dirs()[0]


def find_vosk_model(name_or_path: str) -> Path | None:
    path = Path(name_or_path).expanduser()
    if path.is_dir() and ("/" in name_or_path or path.is_absolute()):
        return path
    for base in search_dirs():
        if (base / name_or_path).is_dir():
            return base / name_or_path
    return None


def installed_models() -> list[Path]:
    found: dict[str, Path] = {}
    for base in search_dirs():
        if base.is_dir():
            for child in sorted(base.iterdir()):
                if child.is_dir() and (child / "am").is_dir() and child.name not in found:
                    found[child.name] = child
    return list(found.values())


def missing_files(model: Path) -> list[str]:
    """What Vosk needs that this directory lacks; [] means the layout is complete."""
    missing = [f for f in ("am/final.mdl", "conf/mfcc.conf", "conf/model.conf") if not (model / f).is_file()]
    graph = model / "graph"
    static = (graph / "HCLG.fst").is_file()
    dynamic = (graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file()
    if not (static or dynamic):
        missing.append("graph/HCLG.fst (or graph/HCLr.fst + graph/Gr.fst)")
    if not ((graph / "words.txt").is_file() or (graph / "phones" / "word_boundary.int").is_file()
            or (graph / "phones.txt").is_file()):
        missing.append("graph/words.txt or graph/phones.txt")
    return missing


def verify(model: Path) -> list[str]:
    """Every problem with an installed model: missing files, then files changed since install."""
    problems = [f"missing {f}" for f in missing_files(model)]
    manifest = model / MANIFEST
    if manifest.is_file():
        try:
            expected: dict[str, str] = json.loads(manifest.read_text())["sha256"]
        except (ValueError, KeyError) as exc:
            return problems + [f"unreadable manifest {MANIFEST}: {exc}"]
        for rel, digest in sorted(expected.items()):
            path = model / rel
            if not path.is_file():
                problems.append(f"missing {rel}")
            elif _file_sha256(path) != digest:
                problems.append(f"changed since install: {rel}")
    return problems


def _file_sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _write_manifest(model: Path) -> None:
    digests = {
        str(p.relative_to(model)): _file_sha256(p)
        for p in sorted(model.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }
    (model / MANIFEST).write_text(json.dumps({"sha256": digests}, indent=1))


Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes total or 0) while downloading."""


def install(source: str, *, sha256: str = "", dest: Path | None = None, progress: Progress | None = None,
            force: bool = False) -> Path:
    """Install from a catalog name, URL, archive (.zip/.tar[.gz|.bz2|.xz]/.tgz) or directory."""
    dest = dest or install_dir()
    entry = next((e for e in catalog() if source in (e.name, e.url)), None)
    if entry is not None and not Path(source).exists():
        source = entry.url
    expected = (sha256 or "").lower()
    with tempfile.TemporaryDirectory(prefix=".earpiece-install-", dir=_ensure(dest)) as tmp:
        work = Path(tmp)
        local = Path(source).expanduser()
        if local.is_dir():
            unpacked = work / "dir"
            shutil.copytree(local, unpacked / local.name)
            origin = local.name
        else:
            if "://" in source:
                archive = _download(source, work, progress)
            elif local.is_file():
                archive = local
            else:
                known = ", ".join(e.name for e in catalog())
                raise ModelError(f'"{source}" is not a file, directory, URL or catalog model (catalog: {known})')
            entry = entry or next((e for e in catalog() if Path(e.url).name == archive.name), None)
            expected = expected or (entry.sha256 if entry else "")
            actual = _file_sha256(archive)
            if expected and actual != expected:
                raise ModelError(f"{archive.name}: sha256 mismatch (expected {expected}, got {actual}); the download is corrupt or not the official file")
            if not expected and "://" in source:
                raise ModelError(f"no sha256 known for {source}; check the publisher's checksum and pass --sha256 {actual}")
            if entry and entry.size and archive.stat().st_size != entry.size:
                raise ModelError(f"{archive.name}: size {archive.stat().st_size} differs from the catalog's {entry.size}")
            unpacked = work / "unpacked"
            _extract(archive, unpacked)
            origin = archive.name
        root = _model_root(unpacked, origin)
        problems = missing_files(root)
        if problems:
            raise ModelError(f"{origin} is not a Vosk model: missing {', '.join(problems)}")
        target = dest / root.name
        if target.exists():
            if not force:
                raise ModelError(f"{target} already exists; remove it or use --force to replace it")
            shutil.rmtree(target)
        _write_manifest(root)
        root.rename(target)
    log.info("installed %s", target)
    return target


def _ensure(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create the models directory {path}: {exc.strerror or exc}") from None
    return path


def _download(url: str, work: Path, progress: Progress | None) -> Path:
    import urllib.error  # here and in _extract, not at the top: only `models install` needs them
    import urllib.request

    target = work / (Path(urllib.request.urlparse(url).path).name or "model.zip")
    try:
        with urllib.request.urlopen(url, timeout=30) as response, target.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            for block in _blocks(response):
                out.write(block)
                done += len(block)
                if progress:
                    progress(done, total)
    except urllib.error.HTTPError as exc:
        raise ModelError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ModelError(f"download of {url} failed: {reason}") from None
    if total and done != total:
        raise ModelError(f"download of {url} stopped at {done} of {total} bytes")
    return target


def _blocks(stream: BinaryIO) -> Iterator[bytes]:
    while block := stream.read(CHUNK):
        yield block


def _extract(archive: Path, into: Path) -> None:
    """Unpack refusing absolute paths, '..' and links out of the target."""
    import tarfile
    import zipfile

    into.mkdir()
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                for member in z.infolist():
                    _check_member(member.filename, into)
                z.extractall(into)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as t:
                t.extractall(into, filter="data")
        else:
            raise ModelError(f"{archive.name} is neither a zip nor a tar archive")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise ModelError(f"{archive.name}: cannot unpack: {exc}") from None


def _check_member(name: str, into: Path) -> None:
    target = (into / name).resolve()
    if not str(target).startswith(str(into.resolve()) + os.sep) and target != into.resolve():
        raise ModelError(f"archive member {name!r} would land outside the model directory; refusing it")


def _model_root(unpacked: Path, origin: str) -> Path:
    """The directory holding am/ and conf/: the archive's top folder, or the archive itself."""
    candidates = [p.parent.parent for p in unpacked.rglob("final.mdl") if p.parent.name == "am"]
    if not candidates:
        raise ModelError(f"{origin} holds no Vosk model (no am/final.mdl inside)")
    root = min(candidates, key=lambda p: len(p.parts))
    if root == unpacked:
        named = unpacked.parent / _stem(Path(origin).name)
        unpacked.rename(named)
        return named
    return root


def _stem(name: str) -> str:
    for suffix in (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".tar"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name
