"""Settings: frozen dataclasses loaded from TOML, with file:line errors.

Lookup order (contract): ``--config PATH``, then ``$EARPIECE_CONFIG``, then the XDG
config dir's ``earpiece/config.toml``, then built-in defaults. Every problem in a file is
reported at once, each as ``FILE:LINE: key: what is wrong``, so a user fixes them in one go.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import ipaddress
import os
import re
import tomllib
import typing
import urllib.parse
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping

import platformdirs

from assistant.errors import ConfigError
from assistant.wyoming.address import address_problem, is_address

APP = "earpiece"


@dataclass(frozen=True)
class AssistantSettings:
    name: str = "Samantha"
    """What it calls itself; also the default wake word."""


@dataclass(frozen=True)
class WakeSettings:
    words: tuple[str, ...] = ("samantha",)
    """Wake phrases, plain text; any of them starts a command."""

    listen_timeout: float = 6.0
    """Seconds to wait for a command after a bare wake word before going idle again."""

    follow_up: float = 5.0
    """Seconds after a reply in which a further command needs no wake word (0 = off)."""

    sensitivity: float = 0.5
    """How readily the streaming spotter hears a wake phrase, 0 (strict) to 1 (lenient).
    Higher misses fewer calls and wakes the dictation engine more often to double-check."""

    sensitivities: Mapping[str, float] = field(default_factory=dict)
    """Per-phrase sensitivity, e.g. { "hey computer" = 0.7 }; phrases not named use ``sensitivity``."""

    neural: bool = True
    """Spot a phrase that has a bundled neural model (microWakeWord: alexa, hey jarvis, hey
    mycroft, okay nabu) with that model, trusted without a Whisper double-check; false keeps every
    phrase on the text-configured path. `earpiece wake list` shows which serves each phrase."""

    remote: str = ""
    """A Wyoming wake word server (tcp://HOST:PORT: wyoming-openwakeword, or another earpiece's
    `serve wyoming`) that hears idle speech too: its detections of the phrases it has models for
    wake earpiece at once, and the local spotter leaves those phrases to it while it is connected
    (it hears every phrase again while the server is away). Live audio only: a WAV file runs
    faster than the server hears. Empty: none."""

    def sensitivity_of(self, phrase: str) -> float:
        """The phrase's own sensitivity if it has one (matched word by word), else ``sensitivity``."""
        from assistant.speech.engines import words_of

        own = {" ".join(words_of(k)): v for k, v in self.sensitivities.items()}
        return own.get(" ".join(words_of(phrase)), self.sensitivity)


@dataclass(frozen=True)
class AudioSettings:
    input_device: str = ""
    """Part of the input device's name; empty means the system default."""

    output_device: str = ""
    """Part of the output device's name; empty means the system default."""

    vad_aggressiveness: int = 2
    """webrtcvad mode 0-3: higher ignores more noise but may clip soft speech."""

    end_silence: float = 0.6
    """Seconds of trailing silence that end an utterance."""

    max_utterance: float = 20.0
    """Longest utterance in seconds; longer speech is cut so the loop never stalls."""

    earcons: bool = True
    """Short tones after a bare wake word and when listening times out."""

    barge_in: bool = True
    """Listen while speaking: talking over a reply stops it ("stop", the name, or a new command).
    Off, the mic is muted while the assistant speaks."""


@dataclass(frozen=True)
class SpeechSettings:
    engine: str = "auto"
    """Streaming engine for wake word and commands: "auto", "vosk" or "pocketsphinx"."""

    model: str = "vosk-model-small-en-us-0.15"
    """Vosk model name (searched in the model dirs) or a path to a model directory."""

    dictation: str = "whisper"
    """Engine for free text and command transcripts: "whisper", "stream", or a Wyoming speech-to-text
    server's address ("tcp://HOST:PORT": a bigger Whisper elsewhere; the local Whisper answers
    where it is down or slow)."""

    whisper_model: str = "tiny.en"
    """faster-whisper model: a directory path, or a name found locally (never downloaded)."""

    whisper_threads: int = 1
    """CPU threads per Whisper read. One by default: most reads happen while idle (is that the
    name?) and are short; a second thread makes plain and careful reads 10-20 % quicker for
    15-30 % more CPU (bench/whisper_reads.py), so it only pays for long dictated sentences."""

    dictation_beam: int = 5
    """Beam width for each dictated sentence of a letter (1 = one greedy pass). A beam of 5 (the
    library's default) wrote 84 % of the words right against 78 % on voices never tuned on, for
    about 10 ms more per sentence (bench/letters.py, both ways). Commands keep one greedy pass."""


@dataclass(frozen=True)
class VoiceSettings:
    engine: str = "auto"
    """Who speaks: "piper" (a neural, human-sounding voice), "espeak" or "pyttsx3" (light
    engines); "auto" is Piper where its voice is installed, else espeak-ng, else pyttsx3. Or a
    Wyoming text-to-speech server's address ("tcp://HOST:PORT", e.g. wyoming-piper elsewhere,
    with `voice` naming one of its voices); the local voice speaks where it fails."""

    voice: str = ""
    """For Piper: "en_US-joe-medium" (bundled) or the path of a voice's .onnx (its .onnx.json
    beside it); for espeak-ng a voice id such as "en-us+f3"; for pyttsx3 a voice id. Empty
    keeps the engine's default."""

    rate: int = 175
    """espeak-ng and pyttsx3: speaking rate in words per minute."""

    length_scale: float = 1.0
    """Piper: how long each sound is held; above 1 slower, below 1 quicker."""

    sentence_pause: float = 0.25
    """Seconds of silence between two sentences of a reply."""

    volume: float = 1.0
    """Speech volume from 0.0 to 1.0."""


@dataclass(frozen=True)
class LettersSettings:
    dir: str = ""
    """Where letters are saved; empty means the XDG data dir's earpiece/letters."""

    drafts: bool = False
    """Also put each saved letter in the mail account's IMAP Drafts folder."""


@dataclass(frozen=True)
class Login:
    """A server login and where its password comes from (assistant/secrets.py), for mail and calendar accounts."""

    username: str = ""
    """Login name."""

    password_env: str = ""
    """Environment variable holding the password."""

    password_command: str = ""
    """Command whose first output line is the password, e.g. "pass show mail"."""

    password: str = ""
    """Password in the file itself; discouraged (prefer `earpiece mail|calendar login`), masked in every output."""


@dataclass(frozen=True)
class MailAccountSettings(Login):
    imap_host: str = ""
    """IMAP server host name."""

    imap_port: int = 993
    """IMAP port (993 for TLS, 143 for STARTTLS)."""

    security: str = "tls"
    """"tls", "starttls" or "none" (only accepted for a loopback host)."""

    smtp_host: str = ""
    """SMTP server host name for replies and letters."""

    smtp_port: int = 465
    """SMTP port (465 for TLS, 587 for STARTTLS)."""

    smtp_security: str = "tls"
    """"tls", "starttls" or "none" (loopback only)."""

    from_: str = field(default="", metadata={"toml": "from"})
    """Sender address, e.g. "Theodore <theodore@example.org>"."""

    maildir: str = ""
    """A local Maildir to read instead of an IMAP server (e.g. "~/Maildir", filled by fetchmail or mbsync)."""

    ca_file: str = ""
    """Extra certificate authority to trust, for a server with its own (self-signed) certificate."""


@dataclass(frozen=True)
class MailSettings:
    accounts: Mapping[str, MailAccountSettings] = field(default_factory=dict)
    """Accounts by name, in file order; the first is the default. With none, ~/Maildir is read if it exists."""

    mark_read: bool = False
    """Reading a message aloud marks it read; off, only "mark it as read" does."""

    announce: bool = True
    """Say "New message from Anna: lunch on Friday" when mail arrives while idle (daemon)."""

    batch: int = 3
    """How many senders and subjects to list before asking "shall I go on?"."""

    read_chars: int = 700
    """Roughly how much of a long body to read before asking "shall I go on?"."""


@dataclass(frozen=True)
class CalendarAccountSettings(Login):
    url: str = ""
    """A CalDAV server (e.g. https://cloud.example.org/remote.php/dav/, or one calendar's URL)."""

    calendar: str = ""
    """Which calendar of the account (its name); empty: all of them are read, events go to the first."""

    path: str = ""
    """A local iCalendar (.ics) file instead of a server: read, and added to."""


@dataclass(frozen=True)
class CalendarSettings:
    accounts: Mapping[str, CalendarAccountSettings] = field(default_factory=dict)
    """[calendar.accounts.NAME] tables; events are added to the first."""

    announce: int = 10
    """Minutes before an event starts to say it ("In ten minutes: team meeting"); 0: never.
    Not while dictating."""


@dataclass(frozen=True)
class MediaSettings:
    duck: str = "lower"
    """What happens to music or a podcast playing in any media player (MPRIS: mpv, Spotify,
    browsers, Rhythmbox) from the moment the name is heard until the conversation ends: "lower"
    its volume, "pause" it, or "off". It is put back as it was, also after a crash (at the next start)."""

    duck_level: float = 0.3
    """With duck = "lower": the player's volume while lowered, as a share of its own (0.3 is 30 %)."""

    step: float = 0.1
    """How much "louder" / "quieter" change the music's volume (a player's full volume is 1)."""


@dataclass(frozen=True)
class WyomingSettings:
    uri: str = "tcp://127.0.0.1:10700"
    """Where `earpiece serve wyoming` listens (tcp://HOST:PORT or unix://PATH). The protocol has
    no authentication: anyone who can connect may use the engines and the skills, so it listens
    on this machine only unless you choose another address."""

    zeroconf: str = ""
    """Advertise the server on the local network under this name (mDNS ``_wyoming._tcp``, which
    Home Assistant discovers); empty: not advertised. Needs a uri other machines can reach."""

    serve: bool = False
    """The daemon serves Wyoming too (one process, one copy of the models: the requests are run
    between audio frames)."""

    satellite_uri: str = "tcp://127.0.0.1:10701"
    """Where `earpiece serve satellite` waits for Home Assistant to connect. Whoever connects
    hears what is said after a wake phrase and can play sound on the headset: this machine only,
    unless Home Assistant runs elsewhere (then e.g. "tcp://0.0.0.0:10701" on a network of yours)."""

    satellite_wake: tuple[str, ...] = ()
    """The wake phrases whose commands go to Home Assistant as a satellite; empty: every phrase in
    [wake] words. Give the daemon the others, and each phrase goes to one place (for example
    "samantha" to earpiece's mail and letters, "hey jarvis" to Home Assistant)."""


@dataclass(frozen=True)
class Settings:
    assistant: AssistantSettings = AssistantSettings()
    """Identity."""

    wake: WakeSettings = WakeSettings()
    """Wake words and conversation windows."""

    audio: AudioSettings = AudioSettings()
    """Devices and endpointing."""

    speech: SpeechSettings = SpeechSettings()
    """Recognition engines and models."""

    voice: VoiceSettings = VoiceSettings()
    """Speech output."""

    letters: LettersSettings = LettersSettings()
    """Dictated letters."""

    mail: MailSettings = MailSettings()
    """Mail accounts."""

    calendar: CalendarSettings = CalendarSettings()
    """Calendars (CalDAV or .ics files)."""

    media: MediaSettings = MediaSettings()
    """Media players: ducking and commands."""

    wyoming: WyomingSettings = WyomingSettings()
    """The Wyoming server (Home Assistant, Rhasspy)."""

    source: Path | None = None
    """The file these settings came from; None for built-in defaults."""


_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("speech", "engine"): ("auto", "vosk", "pocketsphinx"),
    ("speech", "dictation"): ("whisper", "stream"),
    ("voice", "engine"): ("auto", "piper", "espeak", "pyttsx3"),
    ("media", "duck"): ("lower", "pause", "off"),
    ("mail.accounts", "security"): ("tls", "starttls", "none"),
    ("mail.accounts", "smtp_security"): ("tls", "starttls", "none"),
}
_REMOTE_ALLOWED = frozenset({("speech", "dictation"), ("voice", "engine")})
"""Settings that may also name an engine on another machine, as a Wyoming address."""


_ADDRESSES = frozenset({("wake", "remote")})
"""Settings that, where set, must be a Wyoming server's address."""

_RANGES: dict[tuple[str, str], tuple[float, float]] = {
    ("audio", "vad_aggressiveness"): (0, 3),
    ("audio", "end_silence"): (0.1, 5.0),
    ("audio", "max_utterance"): (2.0, 300.0),
    ("wake", "listen_timeout"): (1.0, 60.0),
    ("wake", "follow_up"): (0.0, 60.0),
    ("speech", "dictation_beam"): (1, 10),
    ("wake", "sensitivity"): (0.0, 1.0),
    ("speech", "whisper_threads"): (1, 64),
    ("voice", "rate"): (60, 500),
    ("voice", "length_scale"): (0.5, 2.0),
    ("voice", "sentence_pause"): (0.0, 2.0),
    ("voice", "volume"): (0.0, 1.0),
    ("mail.accounts", "imap_port"): (1, 65535),
    ("mail.accounts", "smtp_port"): (1, 65535),
    ("mail", "batch"): (1, 20),
    ("media", "duck_level"): (0.0, 1.0),
    ("calendar", "announce"): (0, 1440),
    ("media", "step"): (0.01, 0.5),
    ("mail", "read_chars"): (100, 100000),
}
SECRET_KEYS = frozenset({"password"})


def default_config_text() -> str:
    """The commented default config shipped in ``config/default.toml``."""
    return resources.files("assistant._config").joinpath("default.toml").read_text(encoding="utf-8")


def user_config_path() -> Path:
    """The XDG location of the user's config file."""
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def resolve_config_path(explicit: str | os.PathLike[str] | None) -> Path | None:
    """Where the config comes from; None means built-in defaults.

    An explicitly named file (flag or env) must exist; the XDG file is optional.
    """
    for origin, value in (("--config", explicit), ("EARPIECE_CONFIG", os.environ.get("EARPIECE_CONFIG"))):
        if value:
            path = Path(value).expanduser()
            if not path.is_file():
                raise ConfigError(f"config file {path} (from {origin}) does not exist; create it with 'earpiece config init'")
            return path
    path = user_config_path()
    return path if path.is_file() else None


def state_dir(settings: Settings) -> Path:
    """Where the assistant keeps what it writes itself: beside an explicit config, else XDG state."""
    if settings.source is not None and settings.source != user_config_path():
        return settings.source.parent / "earpiece-state"
    return Path(platformdirs.user_state_dir(APP))


def data_dir() -> Path:
    """The XDG data dir for models and letters."""
    return Path(platformdirs.user_data_dir(APP))


def load_settings(explicit: str | os.PathLike[str] | None = None) -> Settings:
    """Load the effective settings following the contract's lookup order."""
    path = resolve_config_path(explicit)
    if path is None:
        return Settings()
    return load_file(path)


def load_file(path: Path) -> Settings:
    """Parse and validate one file; raise ConfigError listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    return parse_text(text, path)


def parse_text(text: str, path: Path) -> Settings:
    """Build Settings from TOML text, collecting errors as ``file:line: key: message``."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = match.group(1) if match else "?"
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(f"{path}:{line}: invalid TOML: {message}") from None
    problems: list[str] = []
    locate = _Locator(text)

    def report(table: str, key: str, message: str) -> None:
        problems.append(f"{path}:{locate(table, key)}: {'.'.join(p for p in (table, key) if p)}: {message}")

    sections: dict[str, Any] = {}
    for name, value in raw.items():
        spec = _section_fields().get(name)
        if spec is None:
            report("", name, f"unknown section (known: {', '.join(sorted(_section_fields()))})")
            continue
        if not isinstance(value, dict):
            report("", name, "must be a table, e.g. [" + name + "]")
            continue
        if name == "mail":
            sections[name] = _build_mail(value, report)
        elif name == "calendar":
            sections[name] = _build_calendar(value, report)
        else:
            sections[name] = _build(spec, name, name, value, report)
    if problems:
        raise ConfigError("\n".join(problems))
    settings = Settings(**sections, source=path)
    if not settings.wake.words:
        raise ConfigError(f"{path}:{locate('wake', 'words')}: wake.words: give at least one wake phrase")
    return settings


def _section_fields() -> dict[str, type]:
    return {name: hint for name, hint in typing.get_type_hints(Settings).items() if name != "source"}


Report = Callable[[str, str, str], None]


def _build_with_accounts(section: str, general_cls: type, account_cls: type, value: dict[str, Any], report: Report,
                         check: Callable[[str, Any], None]) -> Any:
    """A section with [SECTION.accounts.NAME] tables (mail, calendar): each account checked as a
    table, then by ``check(table, account)``; the section's own keys as any table."""
    accounts: dict[str, Any] = {}
    sub = value.get("accounts", {})
    if not isinstance(sub, dict):
        report(section, "accounts", f"must be tables, e.g. [{section}.accounts.personal]")
        sub = {}
    for name, account in sub.items():
        table = f"{section}.accounts.{name}"
        if not isinstance(account, dict):
            report(f"{section}.accounts", name, "must be a table")
            continue
        built = _build(account_cls, table, f"{section}.accounts", account, report)
        check(table, built)
        accounts[name] = built
    options = {key: item for key, item in value.items() if key != "accounts"}
    general = _build(general_cls, section, section, options, report) if options else general_cls()
    return dataclasses.replace(general, accounts=accounts)


def _build_mail(value: dict[str, Any], report: Report) -> MailSettings:
    def check(table: str, built: MailAccountSettings) -> None:
        for kind, host in (("security", built.imap_host), ("smtp_security", built.smtp_host)):
            if getattr(built, kind) == "none" and host and not _is_loopback(host):
                report(table, kind, f'"none" sends your password in clear text; it is only allowed for a loopback host, not {host}')
        if not built.imap_host and not built.maildir and not built.smtp_host:
            report(table, "imap_host", "give imap_host (a server) or maildir (a local folder) to read mail from")

    return _build_with_accounts("mail", MailSettings, MailAccountSettings, value, report, check)  # type: ignore[no-any-return]


def _build_calendar(value: dict[str, Any], report: Report) -> CalendarSettings:
    def check(table: str, built: CalendarAccountSettings) -> None:
        if bool(built.url) == bool(built.path):
            report(table, "url", "give url (a CalDAV server) or path (a local .ics file), one of them")
        elif built.url and not re.match(r"https?://", built.url):
            report(table, "url", f"{built.url!r} is not an http:// or https:// address")
        elif built.url.startswith("http://") and not _is_loopback(urllib.parse.urlsplit(built.url).hostname or ""):
            report(table, "url", "http:// sends your password in clear text; it is only allowed for a loopback host")

    return _build_with_accounts("calendar", CalendarSettings, CalendarAccountSettings, value, report, check)  # type: ignore[no-any-return]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _build(cls: type, table: str, rule_table: str, value: dict[str, Any], report: Report) -> Any:
    """Check one table against a dataclass: unknown keys, types, choices and ranges."""
    hints = typing.get_type_hints(cls)
    by_toml = {f.metadata.get("toml", f.name): f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, item in value.items():
        spec = by_toml.get(key)
        if spec is None:
            close = [k for k in by_toml if k.startswith(key[:3])]
            hint = f"; did you mean {close[0]}?" if close else f" (known: {', '.join(by_toml)})"
            report(table, key, f"unknown key{hint}")
            continue
        expected = hints[spec.name]
        converted, error = _convert(item, expected)
        if error:
            report(table, key, error)
            continue
        choices = _CHOICES.get((rule_table, key))
        remote_allowed = (rule_table, key) in _REMOTE_ALLOWED
        if remote_allowed and isinstance(converted, str) and is_address(converted):
            problem = address_problem(converted)
            if problem:
                report(table, key, problem)
                continue
        elif choices and converted not in choices:
            also = " or a Wyoming server's address (tcp://HOST:PORT)" if remote_allowed else ""
            report(table, key, f"{converted!r} is not one of {', '.join(map(repr, choices))}{also}")
            continue
        if (rule_table, key) in _ADDRESSES and converted and (problem := address_problem(converted)):
            report(table, key, problem)
            continue
        bounds = _RANGES.get((rule_table, key))
        if bounds and not bounds[0] <= converted <= bounds[1]:
            report(table, key, f"{converted} is out of range ({bounds[0]} to {bounds[1]})")
            continue
        kwargs[spec.name] = converted
    return cls(**kwargs)


def _convert(item: Any, expected: Any) -> tuple[Any, str | None]:
    """Coerce a TOML value to a field type, or say in words what was expected."""
    origin = typing.get_origin(expected)
    if expected is str:
        return (item, None) if isinstance(item, str) else (None, f"must be text in quotes, got {_kind(item)}")
    if expected is bool:
        return (item, None) if isinstance(item, bool) else (None, f"must be true or false, got {_kind(item)}")
    if expected is int:
        ok = isinstance(item, int) and not isinstance(item, bool)
        return (item, None) if ok else (None, f"must be a whole number, got {_kind(item)}")
    if expected is float:
        ok = isinstance(item, (int, float)) and not isinstance(item, bool)
        return (float(item), None) if ok else (None, f"must be a number, got {_kind(item)}")
    if origin is tuple:
        if isinstance(item, str):
            item = [item]
        if not isinstance(item, list) or not all(isinstance(x, str) and x.strip() for x in item):
            return None, f'must be a list of non-empty texts, e.g. ["samantha"], got {_kind(item)}'
        return tuple(x.strip() for x in item), None
    if origin in (collections.abc.Mapping, dict):
        ok = isinstance(item, dict) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in item.values())
        if not ok:
            return None, f'must be a table of phrases and numbers from 0 to 1, e.g. {{ "hey computer" = 0.7 }}, got {item!r}'
        return {str(k).strip().casefold(): float(v) for k, v in item.items()}, None
    raise TypeError(f"no converter for field type {expected!r}")


def _kind(item: Any) -> str:
    names = {bool: "true/false", int: "a whole number", float: "a number", str: "text", list: "a list", dict: "a table"}
    return f"{names.get(type(item), type(item).__name__)} ({item!r})" if not isinstance(item, dict) else "a table"


class _Locator:
    """Finds the line of ``key`` inside ``[table]`` by scanning the text, since tomllib keeps no positions."""

    _HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()

    def __call__(self, table: str, key: str) -> int | str:
        current = ""
        key_pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        header_line: int | None = None
        for number, line in enumerate(self._lines, start=1):
            header = self._HEADER.match(line)
            if header:
                current = header.group(1).replace('"', "").replace(" ", "")
                if not table and current.split(".")[0] == key:
                    return number
                if current == table:
                    header_line = number
                continue
            if current == table and key_pattern.match(line):
                return number
        return header_line if header_line is not None else "?"


def masked(settings: Settings) -> dict[str, Any]:
    """The settings as plain data for ``config show``, with secrets replaced."""

    def convert(obj: Any) -> Any:
        if dataclasses.is_dataclass(obj):
            out = {}
            for f in dataclasses.fields(obj):
                if f.name == "source":
                    continue
                value = getattr(obj, f.name)
                name = f.metadata.get("toml", f.name)
                out[name] = "********" if name in SECRET_KEYS and value else convert(value)
            return out
        if isinstance(obj, Mapping):
            return {k: convert(v) for k, v in obj.items()}
        if isinstance(obj, tuple):
            return list(obj)
        return obj

    return convert(settings)


def to_toml(data: Mapping[str, Any]) -> str:
    """Render ``masked()`` output as TOML (tomlkit keeps it valid and quoted)."""
    import tomlkit

    return tomlkit.dumps(data)
