"""Recognition engines, for real: PocketSphinx English, Whisper tiny.en, Vosk with the Korean model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_line_error
from speech import Voice, word_error_rate

from assistant.audio.resample import float_to_int16
from assistant.audio.wavio import read_wav
from assistant.errors import ModelError, SpeechError
from assistant.speech.engines import StreamingEngine, Transcript
from assistant.speech.pronouncing import PronouncingDictionary


def stream(engine: StreamingEngine, audio: np.ndarray, grammar: list[str] | None = None) -> tuple[list[str], Transcript]:
    recognizer = engine.recognizer(grammar)
    pcm = float_to_int16(audio) if audio.dtype != np.int16 else audio
    partials = [p for i in range(0, len(pcm), 320) if (p := recognizer.accept(pcm[i : i + 320]))]
    return partials, recognizer.finish()


# --- PocketSphinx (bundled English) -----------------------------------------------------------------


def test_sphinx_streams_partials_and_finds_real_speech(sphinx, real_speech: Path) -> None:
    partials, final = stream(sphinx, read_wav(real_speech / "speechcommands-yes.wav"))
    assert partials and final.text == "yes"
    partials, final = stream(sphinx, read_wav(real_speech / "sr-one-two-three.wav"))
    assert len(partials) >= 3
    assert final.text.split()[-2:] == ["two", "three"]  # the open LM is weak; "one" varies with CMN state
    assert [w.text for w in final.words] == final.text.split()
    assert all(0 <= w.start < w.end <= 3.0 for w in final.words)


def test_sphinx_grammar_mode_restricts_to_the_phrases(sphinx, real_speech: Path) -> None:
    grammar = ["one two three", "four five six", "today only platforms one and three are used", "yes", "no"]
    _, final = stream(sphinx, read_wav(real_speech / "sr-one-two-three.wav"), grammar)
    assert final.text == "one two three"
    _, final = stream(sphinx, read_wav(real_speech / "cheetah-test-en.wav"), grammar)
    assert final.text == "today only platforms one and three are used"
    assert sphinx.unknown_words(["samantha", "zzyzxq ada"]) == ["zzyzxq"]
    with pytest.raises(SpeechError, match="zzyzxq"):
        sphinx.recognizer(["zzyzxq"])


def test_sphinx_decoders_hold_only_their_words_and_look_up_the_rest_in_the_file(sphinx, real_speech: Path,
                                                                               tmp_path: Path) -> None:
    """The whole dictionary in each decoder cost 22 MB apiece; the grammar decoder gets a
    grammar's words when it is compiled, every other word is looked up in the file."""
    dictionary = sphinx.dictionary
    assert dictionary.entries("what") == [("what", "W AH T"), ("what(2)", "HH W AH T")]
    assert dictionary.phones("samantha") == sphinx.pronounce("samantha") and "samantha" in dictionary
    assert dictionary.entries("zzyzxq") == [] and dictionary.phones("zzyzxq") is None
    lines = dictionary.path.read_text(encoding="utf-8").splitlines()
    for line in (lines[0], lines[len(lines) // 2], lines[-1]):  # the search's edges and middle
        name, phones = line.split(" ", 1)
        assert (name, phones.strip()) in dictionary.entries(name.split("(")[0])
    assert sphinx.knows("aardvark") and sphinx._decoder.lookup_word("aardvark") is None  # held by no decoder
    _, final = stream(sphinx, read_wav(real_speech / "cheetah-test-en.wav"),
                      ["aardvark", "today only platforms one and three are used"])
    assert final.text == "today only platforms one and three are used"
    assert sphinx._decoder.lookup_word("aardvark") == "AA R D V AA R K"  # given with its grammar
    with pytest.raises(ModelError, match="pronouncing dictionary"):
        PronouncingDictionary(tmp_path / "missing.dict")
    (tmp_path / "empty.dict").write_text("")
    with pytest.raises(ModelError, match="empty.dict"):
        PronouncingDictionary(tmp_path / "empty.dict")


# --- Whisper tiny.en (dictation) --------------------------------------------------------------------


def test_whisper_transcribes_real_speech_with_punctuation_and_word_times(whisper, real_speech: Path) -> None:
    reference = (real_speech / "jfk-inaugural.txt").read_text()
    result = whisper.transcribe(float_to_int16(read_wav(real_speech / "jfk-inaugural.wav")), words=True)
    assert word_error_rate(reference, result.text) < 0.1, result.text
    assert result.text[0].isupper() and result.text.rstrip()[-1] in ".!?"
    assert result.words and all(0 <= w.confidence <= 1 for w in result.words)
    assert result.words[-1].end == pytest.approx(10.5, abs=1.0)


def test_whisper_short_reads_through_its_window_are_as_good_and_never_echo(whisper, real_speech, speech) -> None:
    # without word times, a command (up to 4 s) goes through the 15 s encoder window, and longer
    # speech such as this 11 s recording the usual way: both must read well
    reference = (real_speech / "jfk-inaugural.txt").read_text()
    assert word_error_rate(reference, whisper.transcribe(float_to_int16(read_wav(real_speech / "jfk-inaugural.wav"))).text) < 0.1
    command = whisper.transcribe(float_to_int16(speech.say("Samantha, go to sleep.")), prompt="Samantha").text
    assert command.lower().count("sleep") == 1, command


def test_a_draft_of_a_long_command_reads_it_whole_through_the_window(whisper, speech, caplog) -> None:
    # a look-ahead at a pause, 6 to 8 s in: through the window (faster-whisper's own read, which
    # logs the audio's duration, encodes a padded 30 s window at three times the cost), and whole
    sentence = "Samantha, remind me to call my sister about the birthday party on Saturday afternoon at the lake house."
    audio = float_to_int16(speech.say(sentence))
    assert 5.0 < len(audio) / 16000 <= 8.0
    caplog.set_level("INFO", logger="faster_whisper")
    draft = whisper.transcribe(audio, prompt="Samantha,", draft=True).text
    assert "Processing audio" not in caplog.text
    assert draft.lower().startswith("samantha") and "lake house" in draft.lower(), draft
    whisper.transcribe(audio, prompt="Samantha,")  # a finished utterance that long: the usual way
    assert "Processing audio" in caplog.text


def test_a_glance_reads_the_name_and_a_bare_name_does_not_run_on(whisper, speech) -> None:
    # the wake check's quick read (6 s encoder window) of a name and of a name with a command
    glance = whisper.transcribe(float_to_int16(speech.say("Samantha, what time is it?")), prompt="Samantha,", glance=True)
    assert glance.text.lower().startswith("samantha"), glance.text
    # reads are bounded by the audio's length: a bare name once went round to 160 tokens
    name = speech.say("Samantha", Voice("en-us+f3", 150, 60))
    bare = whisper.transcribe(float_to_int16(name), prompt="Samantha,", glance=True).text
    assert len(bare.split()) <= 8, bare


def test_whisper_holds_numpy_blas_to_one_thread_while_it_reads_and_only_then(whisper, speech, monkeypatch) -> None:
    """Idle OpenBLAS threads spun on the cores the encoder needed (bench/whisper_reads.py)."""
    from threadpoolctl import threadpool_info

    blas_threads: list[int] = []
    extractor = type(whisper._model.feature_extractor)
    extract = extractor.__call__

    def spy(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        blas_threads.extend(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")
        return extract(self, *args, **kwargs)

    monkeypatch.setattr(extractor, "__call__", spy)
    before = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    audio = float_to_int16(speech.say("Samantha, what time is it?"))
    assert "time" in whisper.transcribe(audio, prompt="Samantha,", glance=True).text.lower()
    assert "time" in whisper.transcribe(audio, prompt="Samantha,", careful=True).text.lower()
    assert blas_threads and set(blas_threads) == {1}
    assert [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"] == before


def test_whisper_weighs_given_sentences_on_the_audio(whisper, speech) -> None:
    # en-us+f3 saying "Samantha, help." is read by tiny.en as something else ("some men don't
    # help."); forced through the decoder, the sentence said is the likeliest of these
    audio = float_to_int16(speech.say("Samantha, help.", Voice("en-us+f3", 150, 60)))
    heard = whisper.transcribe(audio, prompt="Samantha,").text
    sentences = [heard, "Samantha, help.", "Samantha, killed.", "Samantha, stop.", "Samantha, what time is it?"]
    scores = whisper.score(audio, sentences, prompt="Samantha,")
    assert all(s < 0 for s in scores)
    assert max(scores[1:]) == scores[1], dict(zip(sentences, scores))
    assert scores[1] > scores[0] - 4.0  # close to (or above) Whisper's own greedy reading
    assert scores[4] < scores[1] - 8.0
    # the same scores again, from the kept encoder output
    assert whisper.score(audio, sentences[1:2], prompt="Samantha,") == pytest.approx(scores[1:2], abs=1e-3)
    # longer than the encoder window holds: nothing to weigh
    assert whisper.score(np.zeros(16000 * 16, np.int16), ["a"]) == [float("-inf")]


def test_a_name_left_out_of_a_reading_is_weighed_back_only_where_it_was_said(whisper, speech, real_speech: Path) -> None:
    # What decides whether a doubtful wake stands when no command follows: a name that was said
    # is about as likely put back before Whisper's reading that left it out; one never said is not
    from assistant.intents.rescore import LEFT_OUT_NAME_MARGIN, name_put_back

    def put_back(audio: np.ndarray, heard: str) -> float:
        scores = whisper.score(audio, [heard, *name_put_back(heard, "Samantha")], prompt="Samantha,")
        return max(scores[1:]) - scores[0]

    name = speech.say("Samantha", Voice("en-us+f3", 150, 60))
    name = name[: np.flatnonzero(np.abs(name) > 0.01)[-1] + 1]
    for recording in ("cmu-arctic-a0024", "librispeech-61-70968-0002"):
        said = read_wav(real_speech / f"{recording}.wav")[: 6 * 16000]
        said = said * (0.3 / np.abs(said).max())
        left_out = whisper.transcribe(float_to_int16(said), prompt="Samantha,").text  # the reading without the name
        audio = float_to_int16(np.concatenate([name * (0.3 / np.abs(name).max()), np.zeros(1600, np.float32), said]))
        assert put_back(audio, left_out) > -LEFT_OUT_NAME_MARGIN, (recording, left_out)
    for text, voice in (("Summer in Atlanta is humid, so we stayed inside with the fan on.", Voice("en-us+m3", 185, 45)),
                        ("Santa Ana winds blew across the valley all afternoon.", Voice("en-gb", 175, 40))):
        audio = float_to_int16(speech.say(text, voice))
        heard = whisper.transcribe(audio, prompt="Samantha,").text
        assert "samantha" not in heard.lower()
        assert put_back(audio, heard) < -LEFT_OUT_NAME_MARGIN, heard
    assert name_put_back("Mr. Quilter is here.", "Ada") == ["Ada. Mr. Quilter is here.", "Ada, mr. Quilter is here."]


def test_a_sentence_that_only_repeats_an_earlier_one_is_dropped() -> None:
    from assistant.speech.whisper_dictation import without_echoes

    assert without_echoes("Go to sleep. Samantha, go to sleep. Samantha, go to sleep.") == "Go to sleep."
    assert without_echoes("Dear Tom. I miss you. Love, Anna.") == "Dear Tom. I miss you. Love, Anna."
    assert without_echoes("Samantha, what made it? Samantha, what made") == "Samantha, what made it?"
    assert without_echoes("I miss you. I miss") == "I miss you. I miss"  # two words may be speech going on
    assert without_echoes("") == ""


def test_a_reading_going_round_is_cut_where_it_starts_again() -> None:
    from assistant.speech.engines import without_loop

    assert without_loop("come in, come in, come in, come") == "come in,"
    assert without_loop("Samantha, Samantha, Samantha, Samantha,") == "Samantha,"
    assert without_loop("Well, come in, come in, come in.") == "Well, come in,"
    assert without_loop("come in, come in.") == "come in, come in."  # twice may be meant
    assert without_loop("Dear Tom, I miss you, and the garden misses you.") == "Dear Tom, I miss you, and the garden misses you."


def test_a_reading_that_starts_over_where_its_audio_ends_is_cut_there() -> None:
    from assistant.speech.engines import without_restart

    # en-us+f1's "What time is it, Samantha?" glanced at the spotter's hit
    assert without_restart("What time is it, Samantha? What") == "What time is it, Samantha?"
    assert without_restart("Samantha, what") == "Samantha, what"  # the command going on
    assert without_restart("What time is it? Samantha What time is") == "What time is it? Samantha"  # en-gb+steph
    assert without_restart("What time is it? What a day") == "What time is it? What a day"
    assert without_restart("Stop, stop") == "Stop, stop"  # what is left must be longer
    assert without_restart("What time is it? Time") == "What time is it? Time"  # not its opening


def test_whisper_reads_without_loading_pyav_until_a_file_is_decoded(tmp_path: Path) -> None:
    """PyAV (17 MB resident) is faster-whisper's file decoder, never used on the arrays the
    assistant reads; in a process of its own, it is loaded only once something decodes a file."""
    script = """
import io, sys, wave
import numpy as np
from assistant.config import Settings
from assistant.speech.loader import load_dictation
engine = load_dictation(Settings())
engine.transcribe(np.zeros(16000, np.float32))
print("after a read:", "av._core" in sys.modules)
from faster_whisper import decode_audio
buffer = io.BytesIO()
with wave.open(buffer, "wb") as wav:
    wav.setnchannels(1); wav.setsampwidth(2); wav.setframerate(16000); wav.writeframes(bytes(3200))
buffer.seek(0)
print("decoded:", decode_audio(buffer).shape, "av._core" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert out.returncode == 0, out.stderr
    assert "after a read: False" in out.stdout and "decoded: (1600,) True" in out.stdout


def test_whisper_returns_nothing_for_silence(whisper) -> None:
    assert whisper.transcribe(np.zeros(8000, np.int16)).text == ""


def test_transcribe_cli_on_a_44k_stereo_file_with_each_engine(cli, real_speech: Path, tmp_path: Path) -> None:
    stereo = tmp_path / "cheetah-44k-stereo.wav"
    subprocess.run(["sox", str(real_speech / "cheetah-test-en.wav"), "-r", "44100", "-c", "2", str(stereo)], check=True)
    whisper_out = json.loads(cli("transcribe", stereo, "--json", check=True).stdout)
    assert whisper_out["engine"] == "whisper"
    assert word_error_rate("today only platforms one and three are used", whisper_out["text"].replace("1", "one").replace("3", "three")) <= 0.15
    sphinx_out = cli("transcribe", stereo, "--engine", "pocketsphinx", check=True).stdout
    assert "platforms" in sphinx_out


# --- Vosk, with the Korean model from PyPI ----------------------------------------------------------

KO = Voice("ko", 150, 50)


def test_vosk_loads_streams_partials_and_gives_word_confidences(vosk_ko, speech) -> None:
    audio = speech.scene(0.3, "안녕하세요 오늘 날씨가 좋네요", 0.5, voice=KO)
    partials, final = stream(vosk_ko, audio)
    assert len(partials) >= 2 and final.text
    assert final.engine == "vosk" and final.words
    assert all(0 < w.confidence <= 1 and w.start < w.end for w in final.words)


def test_vosk_grammar_mode_picks_the_spoken_phrase(vosk_ko, speech) -> None:
    grammar = ["안녕하세요", "감사합니다", "오늘 날씨", "음악"]
    for phrase in ("감사합니다", "오늘 날씨", "음악"):
        _, final = stream(vosk_ko, speech.scene(0.3, phrase, 0.5, voice=KO), grammar)
        assert final.text == phrase
    with pytest.raises(SpeechError, match="has no words"):
        vosk_ko.recognizer(["zzqx"])


def test_vosk_engine_errors_are_clear(tmp_path: Path, ko_model_dir: Path, cli) -> None:
    from assistant.speech.vosk_engine import VoskEngine

    broken = tmp_path / "broken-model"
    (broken / "conf").mkdir(parents=True)
    shutil.copy(ko_model_dir / "conf" / "model.conf", broken / "conf")
    with pytest.raises(ModelError, match="could not load the model"):
        VoskEngine(broken)
    config = tmp_path / "c.toml"
    config.write_text('[speech]\nengine = "vosk"\nmodel = "vosk-model-small-en-us-0.15"\n')
    result = cli("--config", config, "transcribe", "--engine", "vosk", tmp_path / "x.wav")
    assert_one_line_error(result, "x.wav: no such file")
    clip = tmp_path / "x.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(clip), "trim", "0", "0.5"], check=True)
    result = cli("--config", config, "transcribe", "--engine", "vosk", clip)
    assert_one_line_error(result, 'Vosk model "vosk-model-small-en-us-0.15" is not installed', "earpiece models install")


def test_english_vosk_model_is_used_when_installed(monkeypatch, sphinx) -> None:
    """Runs only where an English Vosk model is installed; otherwise says why it cannot."""
    from assistant.config import Settings
    from assistant.speech.loader import load_streaming, streaming_choice
    from assistant.speech.models import find_vosk_model

    settings = Settings()
    if find_vosk_model(settings.speech.model) is None:
        assert streaming_choice(settings) == "pocketsphinx"
        assert load_streaming(settings).name == "pocketsphinx"
        pytest.skip("no English Vosk model installed on this machine (none can be downloaded here)")
    assert load_streaming(settings).name == "vosk"


def test_sphinx_recovers_when_a_recognizer_is_dropped_mid_utterance(sphinx, real_speech: Path) -> None:
    audio = float_to_int16(read_wav(real_speech / "sr-one-two-three.wav"))
    dropped = sphinx.recognizer()
    dropped.accept(audio[:8000])  # then forgotten, as the pipeline does with speech not meant for it
    _, final = stream(sphinx, read_wav(real_speech / "speechcommands-yes.wav"))  # raised KeyError before
    assert final.text.split()[-1] == "yes"


def spot(spotter, audio: np.ndarray) -> list[str]:  # type: ignore[no-untyped-def]
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    hits = [spotter.accept(pcm[i : i + 320]) for i in range(0, len(pcm) - 320, 320)]
    return [h for h in hits if h]


def test_vosk_spots_a_wake_phrase_among_competing_words(vosk_ko, speech) -> None:
    """Korean model and voice. This model has no [unk], so the engine offers no spotter by itself
    (every sound would be forced into the phrase); given competing words, it spots for real."""
    assert vosk_ko.spotter({"감사합니다": 0.5}) is None
    others = ["오늘", "날씨", "음악", "안녕하세요"]
    lenient = vosk_ko.spotter({"감사합니다": 0.8}, garbage=others)
    assert lenient is not None
    assert spot(lenient, speech.scene(0.3, "오늘 날씨", 0.3, "감사합니다", 0.8, voice=KO)) == ["감사합니다"]
    lenient.reset()
    assert spot(lenient, speech.scene(0.3, "오늘 날씨 음악", 0.8, voice=KO)) == []
    strict = vosk_ko.spotter({"감사합니다": 0.2}, garbage=others)  # waits for the segment and its confidences
    assert spot(strict, speech.scene(0.3, "감사합니다", 1.2, voice=KO)) == ["감사합니다"]
    assert vosk_ko.spotter({"zzqx": 0.5}, garbage=others) is None  # not in the model: left to Whisper


def test_sphinx_spots_the_name_in_real_speech_only_where_it_is(sphinx, speech, real_speech: Path) -> None:
    spotter = sphinx.spotter({"samantha": 0.5})
    warm = read_wav(real_speech / "librispeech-1272-128104-0000.wav")
    spot(spotter, warm)  # its cepstral mean adapts to speech first, as in use
    spotter.reset()
    assert spot(spotter, speech.scene(0.3, "Samantha, what time is it?", 0.5)) == ["samantha"]
    spotter.reset()
    assert spot(spotter, read_wav(real_speech / "cheetah-test-en.wav")) == []


def test_transcribe_cli_reads_a_file_as_faster_whisper_does_by_default(cli, whisper, real_speech: Path) -> None:
    # A file has no latency budget: `earpiece transcribe` loses nothing against the library
    # called directly with its defaults (beam 5), where the live loop's greedy pass did (#27)
    from assistant.audio.wavio import read_wav

    path = real_speech / "librivox-dagon.wav"
    samples = float_to_int16(read_wav(path)).astype(np.float32) / 32768.0  # as the command reads the file
    segments, _info = whisper._model.transcribe(samples, language="en")
    library = "".join(segment.text for segment in segments).strip()
    ours = cli("transcribe", path, check=True).stdout.strip()
    assert ours == library
