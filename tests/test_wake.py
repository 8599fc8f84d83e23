"""The wake decision and the command reader on their own, on real engines and real audio."""

from __future__ import annotations

import numpy as np
import pytest
from speech import Voice

from assistant.audio import SAMPLE_RATE
from assistant.audio.resample import float_to_int16
from assistant.audio.wavio import read_wav
from assistant.intents.reading import CommandReader
from assistant.speech.engines import Engines, Transcript
from assistant.wake import WakeDecider


def fresh_decider(sphinx, whisper, router) -> WakeDecider:  # type: ignore[no-untyped-def]
    return WakeDecider(["samantha"], "Samantha", Engines(sphinx, whisper), router, lambda: np.zeros(0, np.int16))


@pytest.fixture()
def decider(sphinx, whisper, router, real_speech):  # type: ignore[no-untyped-def]
    """A decider whose spotter has heard enough speech to be trusted alone (warm), as in a running daemon."""
    decider = fresh_decider(sphinx, whisper, router)
    talk = ("jfk-inaugural", "librivox-dagon", "librispeech-1272-128104-0000")
    for name in talk:
        assert decider.decide(float_to_int16(read_wav(real_speech / f"{name}.wav")[: 4 * SAMPLE_RATE])) is None
    assert decider.spotter is not None and decider.spotter.warm
    return decider


def pcm(*parts: np.ndarray | float) -> np.ndarray:
    """Float speech and seconds of silence, as the 16-bit samples the VAD hands on."""
    pieces = [np.zeros(int(part * SAMPLE_RATE), np.float32) if isinstance(part, float) else part for part in parts]
    return float_to_int16(np.concatenate(pieces))


@pytest.mark.parametrize("voice", [Voice("en-us", 160, 50), Voice("en-us+m3", 185, 45)])
def test_a_call_by_name_is_decided_with_its_evidence(decider, speech, voice) -> None:  # type: ignore[no-untyped-def]
    audio = pcm(0.3, speech.say("Samantha, what time is it?", voice), 0.5)
    decision = decider.decide(audio)
    assert decision is not None
    assert decision.phrase == "samantha"
    assert decision.start == 0  # the span read begins at the utterance's start: nothing before the name
    assert decision.reading.text.lower().startswith("samantha")
    assert not decision.doubtful
    # the command is read after the name, from where it was read
    assert decider.woke_early and decider.name_read == "samantha"


def test_a_cold_spotter_leaves_the_decision_to_the_reading(sphinx, whisper, router, speech) -> None:  # type: ignore[no-untyped-def]
    decider = fresh_decider(sphinx, whisper, router)
    # a voice the fresh spotter does not hear
    decision = decider.decide(pcm(0.3, speech.say("Samantha, what's your name?", Voice("en-us+f3", 150, 60)), 0.5))
    assert decision is not None and decision.phrase == "samantha" and decision.by == "reading"
    assert "name" in decision.reading.text
    assert decider.decide(pcm(0.3, speech.say("We spent the evening talking about music."), 0.5)) is None


def test_a_cold_spotters_late_hit_does_not_refuse_the_call(sphinx, whisper, router, speech) -> None:  # type: ignore[no-untyped-def]
    """A fresh spotter's hit came late in "Hey Samantha"; the glance, cut just after the name,
    read "hey, come and" and refused it. Cold, the reading of the start decides instead."""
    decider = fresh_decider(sphinx, whisper, router)
    audio = speech.scene(0.3, "Hey Samantha, what time is it?", 0.5, voice=Voice("en-us+belinda", 160, 55), noise=0.01)
    decision = decider.decide(float_to_int16(audio))
    assert decision is not None and decision.by == "reading"
    assert decision.reading.text.lower().startswith("hey samantha, what time")


@pytest.mark.parametrize("phrase", ["avocado", "iguana"])
def test_a_cold_spotters_refused_hit_is_no_evidence_for_a_bare_name(sphinx, whisper, router, real_speech, phrase) -> None:  # type: ignore[no-untyped-def]
    """A real man says "americano" (porcupine-keywords.wav), after "alexa". The fresh spotter
    hears the configured word in it, and the glance reads "I'm very kind of": refused. The read
    of the whole utterance then decides as if nothing was spotted, and "I'm very kind of" is
    not weighed into a bare "Avocado" (it came within 4.0)."""
    recording = float_to_int16(read_wav(real_speech / "porcupine-keywords.wav"))
    decider = WakeDecider([phrase], phrase.title(), Engines(sphinx, whisper), router, lambda: np.zeros(0, np.int16), neural=False)
    assert decider.decide(recording[int(0.2 * SAMPLE_RATE) : int(1.9 * SAMPLE_RATE)]) is None  # "alexa"
    assert decider.decide(recording[int(2.1 * SAMPLE_RATE) : int(3.9 * SAMPLE_RATE)]) is None  # "americano"
    assert decider.spotter is not None and not decider.spotter.warm


def test_a_mention_of_the_name_is_not_a_call(decider, speech) -> None:  # type: ignore[no-untyped-def]
    audio = pcm(0.3, speech.say("I told Samantha about the meeting yesterday, and she laughed."), 0.5)
    assert decider.decide(audio) is None
    assert not decider.woke_early


def test_real_speech_without_the_name_does_not_wake_it(decider, real_speech) -> None:  # type: ignore[no-untyped-def]
    for name in ("jfk-inaugural", "librispeech-1272-128104-0000", "cmu-arctic-a0024"):
        audio = read_wav(real_speech / f"{name}.wav")[: 6 * SAMPLE_RATE]
        assert decider.decide(float_to_int16(audio)) is None, name


def test_a_name_the_reading_leaves_out_is_weighed_back_where_the_spotter_heard_it(sphinx, whisper, router, speech) -> None:  # type: ignore[no-untyped-def]
    # en-us+f4 at 200 wpm, one breath after the name: Whisper's reading leaves the name out
    # ("what's the gate to me?"), as it does with a name its prompt holds. Where the spotter
    # heard the name and a glance found it plausible (name_unsure), the reading is weighed as one
    # that left out a name that was said, near-command and all; otherwise it stays as read.
    fast = Voice("en-us+f4", 200, 70)
    name = speech.say("Samantha", fast)
    name = name[: int(np.flatnonzero(np.abs(name) > 0.01)[-1]) + 1]
    audio = pcm(0.5, name, 0.05, speech.say("what's the date today?", fast), 0.3)
    decider = fresh_decider(sphinx, whisper, router)
    heard = Transcript("what's the gate to me?")
    decider.begin()
    assert decider._named_reading(audio, heard, decider.prompt) is None
    decider.name_unsure = True
    weighed = decider._named_reading(audio, heard, decider.prompt)
    assert weighed is not None and weighed.text == "Samantha, what's the gate to me?"
    # a reading short enough to be the name alone, misspelled, stays no command ("come in," is
    # near "come again"): at most the bare name
    bare = pcm(0.5, speech.say("Samantha", Voice("en-us+f3", 150, 60)), 0.3)
    weighed = decider._named_reading(bare, Transcript("come in,"), decider.prompt)
    assert weighed is None or decider.matcher.match(weighed.text).command.strip(",. ") == ""


def test_each_utterance_starts_afresh(decider, speech) -> None:  # type: ignore[no-untyped-def]
    call = pcm(0.3, speech.say("Samantha, help."), 0.5)
    talk = pcm(0.3, speech.say("The manager asked for a summary of the numbers."), 0.5)
    assert decider.decide(call) is not None
    assert decider.decide(talk) is None
    assert not decider.woke_early and decider.name_read == ""
    assert decider.decide(call) is not None


def test_the_reader_weighs_a_near_miss_on_the_audio(sphinx, whisper, router, speech, decider) -> None:  # type: ignore[no-untyped-def]
    reader = CommandReader(router, Engines(sphinx, whisper), decider.matcher)
    audio = pcm(0.2, speech.say("Samantha, repeat that."), 0.3)
    # a reading no template allows, of audio that says a command: weighed back to the command
    intent = reader.understand("repeat bat.", "Samantha, repeat bat.", audio, decider.prompt)
    assert intent.name == "Repeat"
    # talk that is no command stays Unknown however near a template sentence it looks
    talk = pcm(0.2, speech.say("Samantha, book a table for two."), 0.3)
    assert reader.understand("book a table for two.", "Samantha, book a table for two.", talk, decider.prompt).name == "Unknown"


@pytest.mark.parametrize("hour", [5, 9])
def test_the_reader_weighs_every_number_where_a_word_stands_for_one(sphinx, whisper, router, speech, decider,  # type: ignore[no-untyped-def]
                                                                    hour) -> None:
    # "at time" (en-gb+steph's "at five" in bench/intents.py): the templates take a number in
    # that word's place, and the audio says which; the same reading of another hour gives that hour
    reader = CommandReader(router, Engines(sphinx, whisper), decider.matcher)
    said = {5: "five", 9: "nine"}[hour]
    audio = pcm(0.2, speech.say(f"Samantha, remind me to call my mother at {said}."), 0.3)
    heard = "remind me to call my mother at time."
    intent = reader.understand(heard, f"Samantha, {heard}", audio, decider.prompt)
    assert (intent.name, intent.slots) == ("SetReminder", {"task": "call my mother", "hour": hour})


def test_the_reader_takes_a_misheard_dictation_command_only_where_the_grammar_hears_it(  # type: ignore[no-untyped-def]
        sphinx, whisper, router, speech, decider) -> None:
    reader = CommandReader(router, Engines(sphinx, whisper), decider.matcher)
    said = pcm(0.2, speech.say("scratch that."), 0.3)
    assert reader.dictation_command("Crash that.", said, letter_finished=False) == "scratch that"
    sentence = pcm(0.2, speech.say("The garden was lovely in May."), 0.3)
    assert reader.dictation_command("The garden was lovely.", sentence, letter_finished=False) == "The garden was lovely."


def settings_with(words: list[str], extra: str = ""):  # type: ignore[no-untyped-def]
    from pathlib import Path

    from assistant.config import parse_text

    listed = ", ".join(f'"{w}"' for w in words)
    return parse_text(f'[assistant]\nname = "{words[0].title()}"\n[wake]\nwords = [{listed}]\nfollow_up = 0.0\n{extra}',
                      Path("test.toml"))


def test_a_real_alexa_wakes_the_neural_spotter_where_it_is_said_and_nowhere_else(run_file, real_speech) -> None:  # type: ignore[no-untyped-def]
    # one man in a noisy room says 19 wake words of another product; "alexa" is the first, at 0.5-1.4 s
    audio = read_wav(real_speech / "porcupine-keywords.wav")
    events, _ = run_file(audio, settings_with(["alexa"]))
    wakes = [e for e in events if e["type"] == "wake"]
    assert [(w["word"], w["by"]) for w in wakes] == [("alexa", "neural")]
    assert 0.5 < wakes[0]["t"] < 2.2


def test_a_neural_phrase_and_a_text_phrase_side_by_side(run_file, speech, real_speech) -> None:  # type: ignore[no-untyped-def]
    alexa = read_wav(real_speech / "porcupine-keywords.wav")[: int(1.8 * SAMPLE_RATE)]
    audio = speech.scene(0.5, alexa, 3.0, "Samantha, what time is it?", 5.0)
    events, _ = run_file(audio, settings_with(["samantha", "alexa"]))
    assert [(e["word"], e["by"]) for e in events if e["type"] == "wake"][0] == ("alexa", "neural")
    assert [e["word"] for e in events if e["type"] == "wake"] == ["alexa", "samantha"]
    assert [e["name"] for e in events if e["type"] == "intent"] == ["GetTime"]


def test_wake_list_says_what_hears_each_phrase(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "config.toml"
    config.write_text('[wake]\nwords = ["samantha", "alexa", "picovoice"]\n')
    lines = cli("--config", config, "wake", "list", check=True).stdout.splitlines()
    assert lines[0].startswith("samantha — pocketsphinx keyphrase spotter")
    assert lines[1].startswith("alexa — microWakeWord model 'alexa'")
    assert lines[2].startswith("picovoice — Whisper reads the start of every idle utterance (pocketsphinx lacks picovoice)")
    added = cli("--config", config, "wake", "add", "Hey", "Jarvis", check=True).stdout
    assert "bundled neural model" in added
    assert cli("--config", config, "wake", "list", check=True).stdout.splitlines()[3].startswith(
        "hey jarvis — microWakeWord model 'hey_jarvis'")
    config.write_text('[wake]\nwords = ["alexa"]\nneural = false\n')
    assert cli("--config", config, "wake", "list", check=True).stdout.startswith("alexa — pocketsphinx keyphrase spotter")


@pytest.mark.parametrize("voice", [Voice("en-us", 160, 50), Voice("en-us+m3", 185, 45)])
def test_the_name_said_last_wakes_it_and_the_command_before_it_is_answered(run_file, speech, voice,  # type: ignore[no-untyped-def]
                                                                          real_speech) -> None:
    warm_up = read_wav(real_speech / "jfk-inaugural.wav")  # a running daemon has heard speech before
    audio = speech.scene(0.5, warm_up, 2.0, "What time is it, Samantha?", 9.0, "I told Samantha about it.", 4.0,
                         voice=voice)
    events, _ = run_file(audio)
    assert [e["word"] for e in events if e["type"] == "wake"] == ["samantha"]
    assert [(e["name"], e["slots"]) for e in events if e["type"] == "intent"] == [("GetTime", {})]


def test_a_new_user_s_command_is_heard_out_past_its_comma_pause_for_a_name_said_last(run_file, speech) -> None:  # type: ignore[no-untyped-def]
    # A fresh daemon (the spotter still warming up): at the comma pause the reading so far,
    # "What's the name?", had no name and the rest was ignored; a command (or nearly one) may
    # have the name after it. en-us+f1 is in neither bench half.
    audio = speech.scene(0.5, "What's the date today, Samantha?", 3.0, voice=Voice("en-us+f1", 150, 60))
    events, _ = run_file(audio)
    assert [(e["name"], e["slots"]) for e in events if e["type"] == "intent"] == [("GetDate", {})]
    # talk that is no command still ends at its first pause, as before
    events, _ = run_file(speech.scene(0.5, "We spent the evening talking, about music and books.", 3.0))
    assert [e for e in events if e["type"] in ("wake", "intent")] == []


def test_a_real_bumblebee_glanced_before_its_last_sounds_wakes_it(run_file, real_speech) -> None:  # type: ignore[no-untyped-def]
    # porcupine-keywords.wav: the spotter hears "bumblebee" (8.2-9.2 s) before its "bee", and the
    # glance reads "Pumble": the opening of the phrase by its sound (WakeMatcher.cut_short)
    audio = read_wav(real_speech / "porcupine-keywords.wav")[: int(10.5 * SAMPLE_RATE)]
    events, _ = run_file(audio, settings_with(["bumblebee"]))
    wakes = [e for e in events if e["type"] == "wake"]
    assert [w["word"] for w in wakes] == ["bumblebee"] and 8.2 < wakes[0]["t"] < 10.0
    assert not [e for e in events if e["type"] == "wake_withdrawn"]


def test_a_name_glued_on_after_a_command_is_a_call_and_after_talk_a_mention(sphinx, whisper, router) -> None:  # type: ignore[no-untyped-def]
    # Whisper leaves the comma out of some calls with the name last ("Speak softer, Samantha."
    # in en-us+f4): after a command, as heard or nearly, the name glued on is still a call
    decider = fresh_decider(sphinx, whisper, router)
    hit = decider.call_in("speak after Samantha.")
    assert hit is not None and hit.last and not hit.set_apart and hit.command == "speak after."
    assert decider.call_in("What time is it Samantha?") is not None
    assert decider.call_in("Stop it Samantha.") is not None  # "stop it" is a command
    for mention in ("I told Samantha.", "We had dinner with Samantha.", "It was lovely to see Samantha."):
        assert decider.call_in(mention) is None, mention


def test_a_misheard_lead_in_before_the_name_is_weighed_on_the_audio(sphinx, whisper, router, speech) -> None:  # type: ignore[no-untyped-def]
    # en-gb-x-gbcwmd's "Hey Samantha" came back "very Samantha.": words before the name are a
    # mention unless a lead-in is almost as likely on the audio
    decider = fresh_decider(sphinx, whisper, router)
    voice = Voice("en-gb-x-gbcwmd", 170, 45)
    called = pcm(0.3, speech.say("Hey Samantha.", voice), 0.3)
    reading = decider.read(called, idle=True, named=True)
    assert decider.matcher.match(reading.text) is not None, reading.text
    weighed = decider._lead_in_reading(called, Transcript("very Samantha."), decider.prompt)
    assert weighed is not None and weighed[0].text in ("Hey Samantha.", "Okay, Samantha.") and weighed[1] == "samantha"
    mention = pcm(0.3, speech.say("I told Samantha.", voice), 0.3)
    assert decider._lead_in_reading(mention, Transcript("I told Samantha."), decider.prompt) is None
    assert decider.decide(mention) is None


def test_a_misspelled_name_after_a_lead_in_is_weighed_in_its_place(sphinx, whisper, router, speech) -> None:  # type: ignore[no-untyped-def]
    # en-us+f4's "Hey Samantha, please repeat that." came back "Hey some men, don't please repeat
    # mad.": the name's place is after the lead-in, and the words there are weighed as the name
    decider = fresh_decider(sphinx, whisper, router)
    audio = pcm(0.3, speech.say("Hey Samantha, please repeat that.", Voice("en-us+f4", 160, 70)), 0.3)
    named = decider._named_reading(audio, Transcript("Hey some men, don't please repeat mad."), decider.prompt)
    assert named is not None and named.text.startswith("Hey Samantha, please repeat"), named
    assert decider.matcher.after_lead_ins("Okay, hey, some man.") == len("Okay, hey, ")
    assert decider.matcher.after_lead_ins("I told some man.") == 0


def test_the_reader_weighs_only_sentences_that_sound_like_what_was_heard(whisper, router, speech) -> None:  # type: ignore[no-untyped-def]
    # Weighing favours short sentences (the scores leave out the end of the text): "let's see
    # her." for "that's enough" came within the margin of "I need help". Only template sentences
    # that sound like the words heard (SOUND_GATE) are weighed. A PocketSphinx of its own: the
    # command grammar's reading, weighed too, depends on the cepstral mean that earlier tests'
    # speech left in the shared engine.
    from assistant.speech.sphinx_engine import SphinxEngine

    sphinx = SphinxEngine(open_vocabulary=False)
    decider = fresh_decider(sphinx, whisper, router)
    reader = CommandReader(router, Engines(sphinx, whisper), decider.matcher)
    audio = pcm(0.2, speech.say("Samantha, that's enough."), 0.3)
    assert reader.understand("let's see her.", "Samantha, let's see her.", audio, decider.prompt).name == "Unknown"
    softer = pcm(0.2, speech.say("Samantha, speak softer.", Voice("en-us+f4", 160, 70)), 0.3)
    assert reader.understand("speak after.", "Samantha, speak after.", softer, decider.prompt).name == "VolumeDown"


@pytest.mark.parametrize("word", ["christina", "vancouver"])
def test_a_short_word_of_talk_is_not_weighed_as_a_bare_name_without_the_spotter(run_file, real_speech,  # type: ignore[no-untyped-def]
                                                                               word) -> None:
    # porcupine-keywords.wav opens with "alexa, americano, avocado" (0.5-5.6 s), while the spotter
    # is still warming up and Whisper reads every utterance: "I'm a kano." came within the margin
    # of a bare "Christina.", and "avocado" of "Vancouver.", with nothing else for a call
    audio = read_wav(real_speech / "porcupine-keywords.wav")[: int(6.5 * SAMPLE_RATE)]
    events, _ = run_file(audio, settings_with([word]))
    assert [e for e in events if e["type"] == "wake"] == []
