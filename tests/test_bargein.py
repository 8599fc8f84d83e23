"""Barge-in and self-hearing: talking over a reply stops it; the assistant's own voice never counts.

File mode places each reply at its audio time, so speech in the input WAV during a reply is
exactly someone talking over it. On the virtual headset a PulseAudio loopback carries the
speaker back into the mic, the way an open headset or laptop speakers leak.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import read_events, start_live

from assistant.audio import SAMPLE_RATE
from assistant.audio.vad import UtteranceSegmenter
from assistant.audio.wavio import read_wav
from assistant.config import Settings, parse_text

HELP = "Samantha, what can you do?"  # the longest everyday reply, about six seconds


def of(events: list[dict], type_: str) -> list[dict]:
    return [e for e in events if e["type"] == type_]


def over_the_reply(speech, words: str) -> tuple[np.ndarray, float]:  # type: ignore[no-untyped-def]
    """HELP, then ``words`` 2.5 s after it ends (well inside the reply); returns audio and where ``words`` start."""
    before = speech.scene(0.5, HELP, 2.5)
    return speech.scene(before, words, 10.0), len(before) / SAMPLE_RATE


def test_stop_over_a_reply_cuts_it_at_once(run_file, speech) -> None:
    audio, stop_at = over_the_reply(speech, "stop")
    events, out = run_file(audio)
    cut = [e for e in of(events, "speak_end") if e["interrupted"]]
    assert len(cut) == 1
    assert 0 <= cut[0]["t"] - stop_at <= 0.3, (cut[0]["t"], stop_at)
    assert [e["name"] for e in of(events, "intent")] == ["Help", "Stop"]
    assert len(of(events, "reply")) == 1  # nothing more is said
    # what a listener heard: the reply up to the cut, then silence
    start = of(events, "speak_start")[0]["t"]
    assert np.abs(out[int(start * SAMPLE_RATE) : int(cut[0]["t"] * SAMPLE_RATE)]).max() > 0.05
    assert not np.abs(out[int(cut[0]["t"] * SAMPLE_RATE) + 1 :]).any()


def test_a_new_command_over_a_reply_is_answered_without_the_name(run_file, speech) -> None:
    audio, _ = over_the_reply(speech, "What time is it?")
    events, _ = run_file(audio)
    assert [e["interrupted"] for e in of(events, "speak_end")] == [True, False]
    assert [e["name"] for e in of(events, "intent")] == ["Help", "GetTime"]
    assert of(events, "reply")[-1]["text"] == "It's ten past three in the afternoon."


def test_talk_not_meant_for_it_lets_the_reply_go_on(run_file, speech) -> None:
    audio, _ = over_the_reply(speech, "the weather is lovely")
    events, out = run_file(audio)
    starts = of(events, "speak_start")
    assert [s.get("resumed", False) for s in starts] == [False, True]
    assert len(of(events, "reply")) == 1  # no "Sorry, I didn't catch that." over a conversation
    # the rest of the reply really follows
    resumed = starts[1]["t"]
    assert np.abs(out[int(resumed * SAMPLE_RATE) : int((resumed + 1.0) * SAMPLE_RATE)]).max() > 0.05


def test_talked_over_again_it_drops_the_reply_and_goes_back_to_idle(run_file, speech) -> None:
    # people talking among themselves over the reply: it goes on once, then gives way, and what
    # they say next (a command, but without the name) is none of its business
    before = speech.scene(0.5, HELP, 2.5)
    audio = speech.scene(before, "the weather is lovely", 1.2, "and the garden is green", 1.0,
                         "what time is it?", 8.0)
    events, out = run_file(audio)
    starts = of(events, "speak_start")
    assert [s.get("resumed", False) for s in starts] == [False, True]
    ends = of(events, "speak_end")
    assert [e["interrupted"] for e in ends] == [True, True]
    assert "GetTime" not in [e["name"] for e in of(events, "intent")]
    assert len(of(events, "reply")) == 1
    # nothing plays after the second cut
    assert not np.abs(out[int(ends[1]["t"] * SAMPLE_RATE) + 1 :]).any()


def test_barge_in_can_be_turned_off(run_file, speech, tmp_path: Path) -> None:
    audio, _ = over_the_reply(speech, "stop")
    settings = parse_text("[audio]\nbarge_in = false\n", tmp_path / "c.toml")
    events, _ = run_file(audio, settings)
    assert [e["interrupted"] for e in of(events, "speak_end")] == [False]
    assert [e["name"] for e in of(events, "intent")] == ["Help"]


# --- on the virtual headset ----------------------------------------------------------------------


def first_speech_start(audio: np.ndarray) -> float:
    """Where the assistant's VAD sees speech begin in ``audio`` (to line the mic up with audio time)."""
    settings = Settings().audio
    segmenter = UtteranceSegmenter(settings.vad_aggressiveness, settings.end_silence, settings.max_utterance)
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    for index in range(0, len(pcm) - 320, 320):
        if segmenter.push(pcm[index : index + 320]).started:
            return (index + 320) / SAMPLE_RATE
    raise AssertionError("no speech in the clip")


def wait_events(path: Path, proc, done, timeout: float = 60) -> list[dict]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = read_events(path) if path.exists() else []
        if done(events):
            return events
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    raise AssertionError(f"timed out; events: {[e['type'] for e in read_events(path)] if path.exists() else []}")


def stop(proc) -> None:  # type: ignore[no-untyped-def]
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_stop_on_the_headset_cuts_the_reply_within_300_ms(headset, speech, tmp_path: Path) -> None:
    audio, stop_at = over_the_reply(speech, "stop")
    clip = speech.write(audio[: int((stop_at + 2.0) * SAMPLE_RATE)], "barge-live.wav")
    recording = tmp_path / "spk.wav"
    proc, path = start_live(headset, tmp_path)
    try:
        wait_events(path, proc, lambda ev: of(ev, "listening"))
        recorder = headset.record_speaker(recording)
        headset.speak_into_mic(clip)
        events = wait_events(path, proc, lambda ev: any(e["name"] == "Stop" for e in of(ev, "intent")))
        time.sleep(0.5)
        headset.stop_recording(recorder)
    finally:
        stop(proc)
    # audio time on the mic: the first speech_start lines the clip up with the daemon's clock
    offset = of(events, "speech_start")[0]["t"] - first_speech_start(audio)
    cut = [e for e in of(events, "speak_end") if e["interrupted"]]
    assert len(cut) == 1
    assert 0 <= cut[0]["t"] - (offset + stop_at) <= 0.3, (cut[0]["t"], offset + stop_at)
    # the speaker really went quiet: far less than the whole reply was played
    played = read_wav(recording)
    loud = np.flatnonzero(np.abs(played) > 0.02)
    assert loud.size
    reply_seconds = (loud[-1] - loud[0]) / SAMPLE_RATE
    assert reply_seconds < 3.5, reply_seconds


@pytest.mark.parametrize("engine", ["piper", "espeak"])
def test_its_own_voice_coming_back_into_the_mic_wakes_nothing(headset, speech, tmp_path: Path, engine: str) -> None:
    # The echo gate learns what is played, whatever the voice: Piper's (the default) as espeak-ng's.
    loop = headset.pactl("load-module", "module-loopback", "source=spk.monitor", "sink=micfeed", "latency_msec=60")
    assert loop.returncode == 0, loop.stderr
    proc, path = start_live(headset, tmp_path, f'[voice]\nengine = "{engine}"\n')
    try:
        wait_events(path, proc, lambda ev: of(ev, "listening"))
        # "My name is Samantha." then its echo; and the follow-up window sees only that echo
        headset.speak_into_mic(speech.write(speech.scene(0.3, "Samantha, what is your name?", 0.5), "name-live.wav"))
        events = wait_events(path, proc, lambda ev: of(ev, "speak_end"))
        time.sleep(Settings().wake.follow_up + 1.5)
        events = read_events(path)
    finally:
        stop(proc)
        headset.pactl("unload-module", loop.stdout.strip())
    assert [e["text"] for e in of(events, "reply")] == ["My name is Samantha."]
    assert [e["name"] for e in of(events, "intent")] == ["GetName"]
    assert len(of(events, "wake")) == 1
    assert [e["interrupted"] for e in of(events, "speak_end")] == [False]
    assert not of(events, "error"), "the configured voice spoke (no fallback)"
