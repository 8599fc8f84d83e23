"""Configuration: lookup order, validation with file:line, init/check/show/path."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import assert_one_line_error

from assistant.config import Settings, load_file, load_settings
from assistant.errors import ConfigError


def test_init_writes_the_commented_default_and_it_loads_as_the_builtin_defaults(cli, isolated_dirs) -> None:
    result = cli("config", "init", check=True)
    path = isolated_dirs["config"] / "earpiece" / "config.toml"
    assert str(path) in result.stdout
    text = path.read_text()
    assert text.count("#") > 20  # commented for humans
    loaded = load_file(path)
    assert replace(loaded, source=None) == Settings()  # every section, every field
    again = cli("config", "init")
    assert_one_line_error(again, "already exists", "--force")


def test_lookup_order_flag_then_env_then_xdg(tmp_path: Path, isolated_dirs, monkeypatch) -> None:
    xdg = isolated_dirs["config"] / "earpiece" / "config.toml"
    xdg.parent.mkdir()
    xdg.write_text('[assistant]\nname = "Xdg"\n')
    env = tmp_path / "env.toml"
    env.write_text('[assistant]\nname = "Env"\n')
    flag = tmp_path / "flag.toml"
    flag.write_text('[assistant]\nname = "Flag"\n')
    assert load_settings().assistant.name == "Xdg"
    monkeypatch.setenv("EARPIECE_CONFIG", str(env))
    assert load_settings().assistant.name == "Env"
    assert load_settings(flag).assistant.name == "Flag"
    monkeypatch.setenv("EARPIECE_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="missing.toml .*EARPIECE_CONFIG"):
        load_settings()


def test_every_problem_is_reported_with_file_line_and_key(tmp_path: Path, cli) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        "[assistant]\n"            # 1
        'name = "Ada"\n'           # 2
        "\n"                       # 3
        "[audio]\n"                # 4
        'input_devise = "usb"\n'   # 5 unknown key (typo)
        "end_silence = \"long\"\n"  # 6 wrong type
        "\n"                       # 7
        "[speech]\n"               # 8
        'engine = "google"\n'      # 9 bad choice
        "whisper_threads = 0\n"    # 10 out of range
        "[voice]\n"                # 11
        "volume = 7\n"             # 12 out of range
        "[colour]\n"               # 13 unknown section
    )
    result = cli("config", "check", path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{path}:5: audio.input_devise: unknown key; did you mean input_device?" in result.stderr
    assert f"{path}:6: audio.end_silence: must be a number" in result.stderr
    assert f"{path}:9: speech.engine: 'google' is not one of 'auto', 'vosk', 'pocketsphinx'" in result.stderr
    assert f"{path}:10: speech.whisper_threads: 0 is out of range" in result.stderr
    assert f"{path}:12: voice.volume: 7.0 is out of range" in result.stderr
    assert f"{path}:13: colour: unknown section" in result.stderr


def test_invalid_toml_names_the_line(tmp_path: Path, cli) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[wake]\nwords = ["samantha"\nfollow_up = 3\n')
    result = cli("--config", path, "run", "--input", "nothing.wav")
    assert_one_line_error(result, f"{path}:", "invalid TOML")


def test_plain_mail_security_is_refused_for_a_remote_host(tmp_path: Path) -> None:
    path = tmp_path / "mail.toml"
    path.write_text('[mail.accounts.work]\nimap_host = "imap.example.org"\nsecurity = "none"\n'
                    '[mail.accounts.local]\nimap_host = "127.0.0.1"\nsecurity = "none"\n')
    with pytest.raises(ConfigError) as info:
        load_file(path)
    assert f"{path}:3: mail.accounts.work.security" in str(info.value)
    assert "local" not in str(info.value)


def test_calendar_and_media_settings_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "cal.toml"
    path.write_text('[calendar]\nannounce = -1\n'
                    '[calendar.accounts.work]\nurl = "http://cloud.example.org/dav"\n'
                    '[calendar.accounts.both]\nurl = "https://cloud.example.org/dav"\npath = "~/c.ics"\n'
                    '[calendar.accounts.neither]\nusername = "theodore"\n'
                    '[calendar.accounts.local]\nurl = "http://127.0.0.1:5232/"\n'
                    '[media]\nduck = "mute"\n')
    with pytest.raises(ConfigError) as info:
        load_file(path)
    message = str(info.value)
    assert f"{path}:2: calendar.announce: -1 is out of range" in message
    assert f"{path}:4: calendar.accounts.work.url: http:// sends your password in clear text" in message
    assert f"{path}:6: calendar.accounts.both.url: give url" in message
    assert "calendar.accounts.neither.url: give url" in message
    assert "accounts.local" not in message
    assert "media.duck: 'mute' is not one of 'lower', 'pause', 'off'" in message


SECRET = "Zq7-unique-letters-secret-41"
"""A password found nowhere else, so finding it anywhere is a leak."""


def test_show_masks_secrets_and_prints_valid_toml(tmp_path: Path, cli) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'[mail.accounts.personal]\nimap_host = "127.0.0.1"\nusername = "theodore"\npassword = "{SECRET}"\n'
                    'from = "T <t@example.org>"\n')
    result = cli("--config", path, "config", "show", check=True)
    assert SECRET not in result.stdout + result.stderr
    shown = tomllib.loads(result.stdout)
    assert shown["mail"]["accounts"]["personal"]["password"] == "********"
    assert shown["mail"]["accounts"]["personal"]["from"] == "T <t@example.org>"
    assert shown["wake"]["words"] == ["samantha"]
    for command in (("config", "check"), ("-v", "config", "show")):
        result = cli("--config", path, *command)
        assert SECRET not in result.stdout + result.stderr, command


def test_path_reports_defaults_when_there_is_no_file(cli, isolated_dirs) -> None:
    result = cli("config", "path", check=True)
    assert "not created yet" in result.stdout and str(isolated_dirs["config"]) in result.stdout
