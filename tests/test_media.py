"""Media on the headset: a real mpv on a private session D-Bus, commanded and ducked by the real
pipeline (`earpiece run` on spoken WAVs), its state read back over MPRIS as any client would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from mediaplayer import Mpv, SessionBus
from test_skills import of, run

from assistant.audio.wavio import read_wav
from assistant.config import MediaSettings
from assistant.media.ducking import Ducker
from assistant.media.mpris import Mpris

TITLE = "Clair de Lune"


@pytest.fixture()
def bus(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    session = SessionBus()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", session.address)
    yield session
    session.stop()


@pytest.fixture()
def mpv(bus: SessionBus, real_speech: Path):  # type: ignore[no-untyped-def]
    player = Mpv(bus, real_speech / "jfk-inaugural.wav", TITLE)
    yield player
    player.stop()


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "media.toml"
    path.write_text(text)
    return path


def test_the_player_is_found_with_its_title_and_commanded(mpv: Mpv) -> None:
    players = Mpris().players()
    assert [(p.name, p.status, p.title, p.volume) for p in players] == [("mpv", "Playing", TITLE, 1.0)]
    Mpris().command(players[0].bus_name, "Pause")
    assert mpv.status_after("Paused") == "Paused"


def test_pause_whats_playing_and_play_by_voice(cli, speech, tmp_path: Path, mpv: Mpv) -> None:
    events = run(cli, speech, tmp_path, "pause", 0.5, "Samantha, pause the music.", 3.0,
                 "Samantha, what's playing?", 4.0)
    assert of(events, "intent", "name") == ["MediaPause", "MediaWhatsPlaying"]
    assert [e["action"] for e in of(events, "media")][:3] == ["duck", "pause", "restore"]
    assert mpv.status() == "Paused" and mpv.volume() == pytest.approx(1.0)  # paused at its own volume
    assert of(events, "reply", "text") == [f"{TITLE} is paused, on mpv."]
    events = run(cli, speech, tmp_path, "jazz", 0.5, "Samantha, play some jazz music.", 5.0)
    assert of(events, "reply", "text") == ["I can't choose what to play. I can play, pause or skip what mpv has."]
    assert mpv.status() == "Paused"  # not whatever happened to be paused
    events = run(cli, speech, tmp_path, "play", 0.5, "Samantha, play the music.", 3.0)
    assert of(events, "intent", "name") == ["MediaPlay"]
    assert mpv.status() == "Playing"
    assert of(events, "reply") == []  # the music is the answer


def test_the_music_is_lowered_from_the_wake_to_the_end_of_the_conversation(cli, speech, tmp_path: Path,
                                                                            mpv: Mpv) -> None:
    with mpv.watch_volume() as watch:
        events = run(cli, speech, tmp_path, "duck", 0.5, "Samantha, what time is it?", 8.0)
    assert of(events, "intent", "name") == ["GetTime"]
    duck, restore = of(events, "media")
    wake, reply = of(events, "wake")[0], of(events, "reply")[0]
    assert duck["action"] == "duck" and duck["players"] == ["org.mpris.MediaPlayer2.mpv"]
    assert wake["t"] <= duck["t"] <= reply["t"]
    assert restore["action"] == "restore" and restore["t"] >= reply["t"] + 5.0 - 0.1  # after the follow-up window
    assert min(watch.volumes) == pytest.approx(0.3, abs=0.01)  # heard lowered while it answered
    assert watch.volumes[0] == pytest.approx(1.0) and mpv.volume() == pytest.approx(1.0)
    assert set(watch.statuses) == {"Playing"}


def test_pausing_instead_of_lowering(cli, speech, tmp_path: Path, mpv: Mpv) -> None:
    settings = config(tmp_path, '[media]\nduck = "pause"\n[wake]\nfollow_up = 0\n')
    with mpv.watch_volume() as watch:
        events = run(cli, speech, tmp_path, "duck", 0.5, "Samantha, what time is it?", 4.0, config=settings)
    assert [e["action"] for e in of(events, "media")] == ["duck", "restore"]
    assert "Paused" in watch.statuses and mpv.status() == "Playing"
    assert set(watch.volumes) == {1.0}


def test_louder_means_the_music_while_it_plays_and_the_voice_when_asked(cli, speech, tmp_path: Path,
                                                                          mpv: Mpv) -> None:
    mpv.set_volume(0.5)
    events = run(cli, speech, tmp_path, "louder", 0.5, "Samantha, louder.", 3.0,
                 "Samantha, turn the music down.", 3.0, "Samantha, speak softer.", 4.0)
    assert of(events, "intent", "name") == ["VolumeUp", "MediaQuieter", "VolumeDown"]
    assert [(e["action"], e.get("volume")) for e in of(events, "media") if e["action"] in ("louder", "quieter")] == [
        ("louder", 0.6), ("quieter", 0.5)]
    assert mpv.volume() == pytest.approx(0.5)
    assert of(events, "reply", "text") == ["I'll speak more softly."]  # only the last was for the voice


def test_a_volume_the_user_sets_while_ducked_stands(mpv: Mpv) -> None:
    ducker = Ducker(Mpris(), MediaSettings())
    assert ducker.duck() == (["org.mpris.MediaPlayer2.mpv"], "")
    assert mpv.volume() == pytest.approx(0.3)
    mpv.set_volume(0.8)
    assert ducker.restore() == []
    assert mpv.volume() == pytest.approx(0.8)


def test_a_crash_while_ducked_is_put_right_at_the_next_start(cli, speech, tmp_path: Path, mpv: Mpv,
                                                              isolated_dirs) -> None:
    settings = config(tmp_path, "[wake]\nfollow_up = 60\n")
    wav = speech.write(speech.scene(0.5, "Samantha, what time is it?", 60.0), "long.wav")
    events = tmp_path / "crash.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "--config", str(settings), "run", "--input", str(wav),
                             "--events", str(events)], env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (events.exists() and '"duck"' in events.read_text()):
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended without ducking"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert mpv.volume() == pytest.approx(0.3)  # the dead run left it quiet
    after = run(cli, speech, tmp_path, "after", 1.0, config=settings)
    assert [(e["action"], e["players"]) for e in of(after, "media")] == [("restore", ["org.mpris.MediaPlayer2.mpv"])]
    assert mpv.volume() == pytest.approx(1.0)


def test_without_a_session_bus_it_says_so_and_goes_on(cli, speech, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    events = run(cli, speech, tmp_path, "nobus", 0.5, "Samantha, pause the music.", 3.0,
                 "Samantha, turn the volume down.", 4.0)
    assert of(events, "intent", "name") == ["MediaPause", "VolumeDown"]
    assert of(events, "reply", "text") == ["I can't reach your media players.", "I'll speak more softly."]
    assert of(events, "error") == [] and of(events, "media") == []


def test_a_broken_bus_is_one_error_and_no_player_is_none(cli, speech, tmp_path: Path, bus: SessionBus,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    events = run(cli, speech, tmp_path, "noplayer", 0.5, "Samantha, next song.", 3.0)
    assert of(events, "reply", "text") == ["No media player is running."]
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus-here")
    events = run(cli, speech, tmp_path, "broken", 0.5, "Samantha, what time is it?", 4.0,
                 "Samantha, what's playing?", 4.0)
    assert of(events, "intent", "name") == ["GetTime", "MediaWhatsPlaying"]
    errors = of(events, "error", "message")
    assert len(errors) == 2 and all("session D-Bus" in e for e in errors)  # one at the wake, one for the command
    assert of(events, "reply", "text")[1] == "I can't reach your media players."


def test_an_unreadable_ducking_state_is_dropped(tmp_path: Path, mpv: Mpv) -> None:
    state = tmp_path / "ducked.json"
    state.write_text("{not json")
    assert Ducker(Mpris(), MediaSettings(), state).recover() == []
    assert not state.exists() or json.loads(state.read_text()) is not None
    assert mpv.volume() == pytest.approx(1.0)


TONE_HZ = 3000
"""The music: a steady tone, far from where a voice has most of its energy, so its level can be
followed under the reply."""


def tone_levels(recording: Path) -> np.ndarray:
    """The tone's amplitude in each 100 ms of the recording (a narrow band around TONE_HZ)."""
    audio = read_wav(recording)
    window = 1600
    levels = []
    for start in range(0, len(audio) - window, window):
        spectrum = np.abs(np.fft.rfft(audio[start : start + window] * np.hanning(window)))
        at = TONE_HZ * window // 16000
        levels.append(spectrum[at - 2 : at + 3].max())
    return np.array(levels)


def test_the_music_is_heard_lower_while_it_answers_and_back_after(headset, bus: SessionBus, speech,
                                                                    tmp_path: Path) -> None:
    from conftest import start_live
    from test_live import wait_for

    tone = (0.3 * np.sin(2 * np.pi * TONE_HZ * np.arange(16000 * 4) / 16000)).astype(np.float32)
    player = Mpv(bus, speech.write(tone, "tone.wav"), "A tone", env=headset.env(), audio_out="pulse")
    proc, events_path = start_live(headset, tmp_path, "[wake]\nfollow_up = 1.0\n")
    recording = tmp_path / "speaker.wav"
    try:
        wait_for(events_path, "listening", 60, proc)
        recorder = headset.record_speaker(recording)
        headset.wait_recorded(recording, 1.5)
        headset.speak_into_mic(speech.write(speech.scene(0.3, "Samantha, what time is it?", 0.5), "ask.wav"))
        deadline = time.monotonic() + 60
        while '"restore"' not in events_path.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, "the music was not put back"
            time.sleep(0.05)
        headset.wait_recorded(recording, 1.5)
        headset.stop_recording(recorder)
        events = [json.loads(line) for line in events_path.read_text().splitlines()]
    finally:
        proc.terminate()
        proc.wait(20)
        player.stop()
    assert [e["action"] for e in events if e["type"] == "media"] == ["duck", "restore"]
    levels = tone_levels(recording)
    before, lowest, after = np.median(levels[:10]), levels.min(), np.median(levels[-10:])
    assert before > 1.0, "the music is not on the speaker"
    assert lowest < 0.5 * before, (before, lowest)  # heard lowered (mpv's 30 % volume)
    assert after == pytest.approx(before, rel=0.2)  # and heard back as it was
    low = np.flatnonzero(levels < 0.5 * before)
    assert 10 <= low[0] and low[-1] < len(levels) - 10  # lowered after it started, back before the end
