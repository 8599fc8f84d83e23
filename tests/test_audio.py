"""Audio ends: WAV reading in any format, devices by name, live capture and playback on the virtual headset."""

from __future__ import annotations

import subprocess
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_line_error

from assistant.audio import FRAME_SAMPLES, SAMPLE_RATE
from assistant.audio.resample import float_to_int16
from assistant.audio.wavio import WavSink, WavSource, read_wav, write_wav
from assistant.errors import AudioError, DeviceNotFoundError


def _tone(rate: int, seconds: float = 1.0, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return 0.5 * np.sin(2 * np.pi * freq * t)


@pytest.mark.parametrize("rate,channels,bits", [(44100, 2, 16), (8000, 1, 8), (48000, 1, 24), (22050, 1, 32)])
def test_any_pcm_wav_becomes_16k_mono_with_the_same_content(tmp_path: Path, rate: int, channels: int, bits: int) -> None:
    path = tmp_path / "in.wav"
    tone = _tone(rate)
    subprocess.run(["sox", "-n", "-r", str(rate), "-c", str(channels), "-b", str(bits), str(path),
                    "synth", "1.0", "sine", "440", "vol", "0.5"], check=True)
    audio = read_wav(path)
    assert abs(len(audio) - SAMPLE_RATE) <= 2
    spectrum = np.abs(np.fft.rfft(audio))
    assert abs(np.argmax(spectrum) * SAMPLE_RATE / len(audio) - 440) < 3
    assert 0.3 < np.max(np.abs(audio)) < 0.6
    assert len(tone) == rate  # the reference tone exists at the source rate


def test_malformed_and_missing_wavs_are_clear_errors(tmp_path: Path, cli) -> None:
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage")
    with pytest.raises(AudioError, match="not a readable PCM WAV"):
        read_wav(junk)
    with pytest.raises(AudioError, match="no such file"):
        read_wav(tmp_path / "absent.wav")
    assert_one_line_error(cli("transcribe", junk), "junk.wav", "not a readable PCM WAV")
    assert_one_line_error(cli("run", "--input", tmp_path / "absent.wav"), "absent.wav: no such file")


def test_wav_source_gives_20ms_frames_and_sink_places_replies_in_audio_time(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    write_wav(path, (_tone(SAMPLE_RATE, 0.5) * 32767).astype(np.int16))
    frames = list(WavSource(path, tail=0.2).frames())
    assert all(len(f) == FRAME_SAMPLES and f.dtype == np.int16 for f in frames)
    assert len(frames) == 35  # 0.5 s + 0.2 s tail
    sink = WavSink(tmp_path / "out.wav")
    reply = np.full(SAMPLE_RATE // 10, 1000, np.int16)
    assert sink.play(reply, 1.0) == 1.0
    assert sink.play(reply, 1.0) == pytest.approx(1.1)  # never overlaps the previous reply
    sink.close(length=2.0)
    with wave.open(str(tmp_path / "out.wav")) as w:
        out = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    assert len(out) == 2 * SAMPLE_RATE
    assert not out[: SAMPLE_RATE].any() and (out[SAMPLE_RATE : SAMPLE_RATE + 3200] == 1000).all()


def test_devices_by_name_and_a_wrong_name_lists_what_exists(headset, cli, tmp_path: Path) -> None:
    from assistant.audio.devices import find_device

    assert find_device("mic", "input").pulse_name == "mic"
    assert find_device("SPK", "output").pulse_name == "spk"
    with pytest.raises(DeviceNotFoundError) as info:
        find_device("bluetooth-headset", "input")
    message = str(info.value)
    assert '"bluetooth-headset"' in message and '"pulse"' in message and '"mic"' in message
    listing = cli("devices", check=True).stdout
    assert "input devices:" in listing and "* " in listing
    config = tmp_path / "c.toml"
    config.write_text('[audio]\ninput_device = "no-such-mic"\n')
    assert_one_line_error(cli("--config", config, "run"), 'no input device matches "no-such-mic"', "devices there are")


@pytest.mark.parametrize("device_rate", [None, 48000])
def test_live_capture_hears_what_is_played_into_the_virtual_mic(headset, speech, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                device_rate: int | None) -> None:
    """As it comes at 16 kHz, and from a device that only opens at its own rate (48 kHz here),
    resampled on the way."""
    from dataclasses import replace

    from assistant.audio.capture import MicSource
    from assistant.audio.devices import find_device, sounddevice

    clip = speech.write(speech.scene(0.2, "one two three", 0.3), "mic.wav")
    device = find_device("mic", "input")
    if device_rate is not None:
        sd = sounddevice()
        real_stream = sd.RawInputStream

        def own_rate_only(*args, samplerate: int, **kwargs):  # type: ignore[no-untyped-def]
            if samplerate != device_rate:
                raise sd.PortAudioError("Invalid sample rate")
            return real_stream(*args, samplerate=samplerate, **kwargs)

        monkeypatch.setattr(sd, "RawInputStream", own_rate_only)
        device = replace(device, default_rate=device_rate)
    source = MicSource(device)
    player = subprocess.Popen(["paplay", "--device=micfeed", str(clip)], env=headset.env())
    captured = []
    deadline = time.monotonic() + 10
    for frame in source.frames():
        captured.append(frame)
        if player.poll() is not None and len(captured) * FRAME_SAMPLES > len(read_wav(clip)) + SAMPLE_RATE // 2:
            break
        assert time.monotonic() < deadline
    source.close()
    heard = np.concatenate(captured).astype(np.float32) / 32768
    sent = read_wav(clip)
    corr = np.correlate(heard, sent, mode="valid")
    best = float(np.max(np.abs(corr)) / (np.linalg.norm(sent) ** 2))
    assert best > 0.95, best


_PLUGINS_AFTER_LISTING = """
import json, re
from assistant.audio.capture import MicSource
from assistant.audio.devices import find_device, portaudio_devices

def plugins():
    return sorted(set(re.findall(r"libasound_module_pcm_(\\w+)\\.so", open("/proc/self/maps").read())))

listed = [d.name for d in portaudio_devices("input")]
after_listing = plugins()
source = MicSource(find_device("mic", "input"))
frames = next(source.frames())
source.close()
print(json.dumps({"listed": listed, "after_listing": after_listing, "while_capturing": plugins(), "frame": len(frames)}))
"""


def test_alsa_plugins_loaded_only_to_list_devices_are_let_go(headset) -> None:
    """PortAudio opens every PCM the ALSA configuration defines to list devices (a52 loads FFmpeg's
    codec libraries): those modules are unloaded after listing, and capture still opens its own."""
    import json
    import sys

    if not list(Path("/usr/lib").glob("*/alsa-lib/libasound_module_pcm_a52.so")):
        pytest.skip("no ALSA a52 plugin installed to be loaded while listing")
    out = subprocess.run([sys.executable, "-c", _PLUGINS_AFTER_LISTING], env=headset.env(), capture_output=True,
                         text=True, timeout=60, check=True).stdout
    seen = json.loads(out)
    assert "pulse" in seen["listed"]
    assert seen["after_listing"] == [], seen
    assert seen["while_capturing"] == ["pulse"], seen
    assert seen["frame"] > 0


def test_playback_reaches_the_virtual_speaker_with_its_ending(headset, tmp_path: Path) -> None:
    from assistant.audio.devices import find_device
    from assistant.audio.playback import SpeakerSink

    recording = tmp_path / "spk.wav"
    recorder = headset.record_speaker(recording)
    headset.wait_recorded(recording, 0.3)  # recording for real before the tone starts
    tone = (_tone(SAMPLE_RATE, 0.8) * 20000).astype(np.int16)
    sink = SpeakerSink(find_device("spk", "output"))
    sink.play(tone, 0.0)
    sink.close()
    headset.wait_recorded(recording, 0.5)  # and well past its end, however late the recorder runs
    headset.stop_recording(recorder)
    heard = read_wav(recording)
    loud = np.flatnonzero(np.abs(heard) > 0.1)
    assert loud.size, "nothing reached the speaker"
    assert (loud[-1] - loud[0]) / SAMPLE_RATE == pytest.approx(0.8, abs=0.03)


def test_the_segmenter_says_how_much_silence_ended_an_utterance(speech) -> None:
    # the pipeline reuses the reading taken at the last pause when only silence followed it
    from assistant.audio.vad import UtteranceSegmenter

    said = speech.say("what time is it")
    pcm = (np.clip(np.concatenate([said, np.zeros(SAMPLE_RATE, np.float32)]), -1, 1) * 32767).astype(np.int16)
    segmenter = UtteranceSegmenter(end_silence=0.6)
    ended = None
    for index in range(0, len(pcm) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        update = segmenter.push(pcm[index : index + FRAME_SAMPLES])
        if segmenter.in_speech:
            assert segmenter.trailing_silence == segmenter.silent_frames
        if update.ended:
            ended = index + FRAME_SAMPLES
            break
    assert ended is not None
    assert segmenter.silent_frames == 0 and segmenter.trailing_silence == 30
    spoken_until = ended - segmenter.trailing_silence * FRAME_SAMPLES  # in the stream
    assert len(said) / 2 < spoken_until <= len(said)  # the speech's end, not the silence after it


def test_words_a_second_apart_in_a_noisy_room_are_utterances_of_their_own(real_speech: Path) -> None:
    # porcupine-keywords.wav: one man, hum and a fan; "francesca" ends at 18.1 s, "grapefruit"
    # starts at 18.95 s. The room's noise between them must not count as speech, or the second
    # word runs on from the first, past where the spotter listens for a name
    from assistant.audio.vad import UtteranceSegmenter

    pcm = float_to_int16(read_wav(real_speech / "porcupine-keywords.wav"))
    segmenter = UtteranceSegmenter(end_silence=0.6)
    utterances: list[tuple[float, float]] = []
    start = 0.0
    for index in range(0, len(pcm) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        update = segmenter.push(pcm[index : index + FRAME_SAMPLES])
        now = (index + FRAME_SAMPLES) / SAMPLE_RATE
        if update.started:
            start = now
        if update.ended:
            utterances.append((start, now - segmenter.trailing_silence * FRAME_SAMPLES / SAMPLE_RATE))
    assert not any(begin < 18.1 and 18.95 < end for begin, end in utterances), utterances
    assert any(18.5 < begin < 19.3 for begin, _end in utterances), utterances  # grapefruit opens one
    assert len(utterances) >= 15, utterances  # 19 words, a few said without a pause between them


def test_a_word_after_a_short_pause_keeps_its_soft_first_sound(real_speech: Path) -> None:
    # "pineapple" then "porcupine" (from about 28.2 s): ended at a 0.2 s pause, as the pipeline
    # ends talk not meant for it, the next utterance must still hold the /p/ before its own start
    from assistant.audio.vad import UtteranceSegmenter

    pcm = float_to_int16(read_wav(real_speech / "porcupine-keywords.wav"))
    segmenter = UtteranceSegmenter(end_silence=0.6)
    starts: list[float] = []
    for index in range(0, int(30.0 * SAMPLE_RATE), FRAME_SAMPLES):
        update = segmenter.push(pcm[index : index + FRAME_SAMPLES])
        now = (index + FRAME_SAMPLES) / SAMPLE_RATE
        if update.started:
            starts.append(now - len(segmenter.audio) * FRAME_SAMPLES / SAMPLE_RATE)
        if now > 28.0 and segmenter.in_speech and segmenter.silent_frames == 10:
            segmenter.force_end()  # the first 0.2 s pause after "pineapple"
    porcupine = [start for start in starts if 27.9 < start < 28.5]
    assert porcupine and porcupine[0] <= 28.2, starts
