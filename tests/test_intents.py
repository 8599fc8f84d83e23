"""Intent routing with hassil templates, and times spoken the way people say them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from assistant.errors import IntentError
from assistant.intents.numbers import spoken_date, spoken_time
from assistant.intents.router import Router
from assistant.wake import WakeMatcher


@pytest.fixture(scope="module")
def router() -> Router:
    return Router.for_config_dir(None)


@pytest.mark.parametrize("text,intent", [
    ("What time is it?", "GetTime"), ("what's the time now", "GetTime"), ("Tell me the time.", "GetTime"),
    ("What day is it today?", "GetDate"), ("What's today's date?", "GetDate"),
    ("What's your name?", "GetName"), ("Who are you?", "GetName"),
    ("Help.", "Help"), ("What can you do?", "Help"),
    ("Please repeat that.", "Repeat"), ("Stop.", "Stop"), ("Never mind", "Stop"),
    ("What is the weather in Paris tomorrow?", "Unknown"), ("", "Unknown"),
    # a reminder's free words must not swallow the timer's own commands
    ("Never mind the timer.", "CancelTimer"), ("Forget the timer.", "CancelTimer"),
    ("Cancel the reminder about the oven.", "CancelReminder"), ("Don't remind me about the oven.", "CancelReminder"),
    ("Remind me to call my mother at 5:30 p.m.", "SetReminder"), ("What are my reminders?", "ListReminders"),
])
def test_routing(router: Router, text: str, intent: str) -> None:
    assert router.route(text).name == intent


def test_every_intent_has_an_example_sentence_that_routes_back_to_it(router: Router) -> None:
    examples = router.examples(per_intent=3)
    # wildcard templates have no fixed example
    assert set(examples) == set(router.intent_names()) - {"SetName", "SetReminder", "CancelReminder", "AddEvent"}
    for name, sentences in examples.items():
        for sentence in sentences:
            assert router.route(sentence).name == name, sentence


def test_a_template_error_names_its_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text('language: en\nintents:\n  GetTime:\n    data:\n      - sentences:\n          - "what (time is it"\n')
    with pytest.raises(IntentError, match="bad.yaml"):
        Router([bad])
    not_intents = tmp_path / "list.yaml"
    not_intents.write_text("- just a list\n")
    with pytest.raises(IntentError, match="list.yaml:1: .*intents"):
        Router([not_intents])


@pytest.mark.parametrize("hour,minute,said", [
    (15, 10, "ten past three"), (15, 0, "three o'clock"), (0, 0, "midnight"), (12, 0, "noon"),
    (15, 45, "quarter to four"), (9, 7, "nine oh seven"), (21, 42, "nine forty-two"), (11, 55, "five to twelve"),
    (12, 30, "half past twelve"), (23, 45, "quarter to twelve"), (6, 15, "quarter past six"),
])
def test_spoken_time(hour: int, minute: int, said: str) -> None:
    assert spoken_time(datetime(2026, 11, 25, hour, minute)) == said


def test_spoken_date() -> None:
    assert spoken_date(datetime(2026, 11, 25)) == "Wednesday, the twenty-fifth of November"
    assert spoken_date(datetime(2027, 1, 1)) == "Friday, the first of January"


@pytest.mark.parametrize("text,phrase,command", [
    ("Samantha, what time is it?", "samantha", "what time is it?"),
    ("Hey Samantha. What's the date?", "samantha", "What's the date?"),
    ("samantha", "samantha", ""),
    ("Hey, computer! Help me.", "hey computer", "Help me."),
])
def test_wake_phrase_is_found_and_the_command_kept(text: str, phrase: str, command: str) -> None:
    hit = WakeMatcher(["samantha", "hey computer"]).match(text)
    assert hit is not None and (hit.phrase, hit.command) == (phrase, command)


@pytest.mark.parametrize("text,set_apart", [
    ("Samantha, one, two, three.", True),
    ("Samantha.", True),
    ("Hey Samantha", True),
    ("Samantha mountains in Montana are covered in snow.", False),
    ("Samantha's here", False),
])
def test_a_wake_phrase_set_apart_as_a_call_is_told_from_one_glued_to_the_next_words(text: str, set_apart: bool) -> None:
    hit = WakeMatcher(["samantha"]).match(text)
    assert hit is not None and hit.set_apart is set_apart


@pytest.mark.parametrize("text", ["What time is it?", "I told Samantha about it yesterday evening", "Samanthas"])
def test_no_wake_phrase(text: str) -> None:
    assert WakeMatcher(["samantha"]).match(text) is None


@pytest.mark.parametrize(("start", "otherwise"), [
    ("I told some end...", True), ("the manager", True), ("So I'm gonna...", True),
    ("", False), ("Hey,", False), ("Okay, um...", False), ("Excuse me.", False),
])
def test_only_words_other_than_lead_ins_open_an_utterance_otherwise(start: str, otherwise: bool) -> None:
    # after such a start, no later wake phrase in the utterance is a call; after a lead-in it may be
    assert WakeMatcher(["samantha"]).opens_otherwise(start) is otherwise


def listed(cli, config: Path) -> list[str]:  # type: ignore[no-untyped-def]
    """The phrases `earpiece wake list` prints, without what hears each."""
    return [line.split(" — ")[0] for line in cli("--config", config, "wake", "list", check=True).stdout.splitlines()]


def test_wake_phrases_are_managed_from_the_command_line(cli, tmp_path: Path) -> None:
    from conftest import assert_one_line_error

    config = tmp_path / "config.toml"
    config.write_text("# mine\n[wake]\nwords = [\"samantha\"]  # her name\n")
    assert listed(cli, config) == ["samantha"]
    cli("--config", config, "wake", "add", "Hey", "Computer", check=True)
    assert listed(cli, config) == ["samantha", "hey computer"]
    assert config.read_text().startswith("# mine\n")
    cli("--config", config, "wake", "remove", "samantha", check=True)
    assert_one_line_error(cli("--config", config, "wake", "remove", "hey computer"), "only wake phrase")
    assert_one_line_error(cli("--config", config, "wake", "remove", "ada"), '"ada" is not a wake phrase')
    assert listed(cli, config) == ["hey computer"]


def test_each_wake_phrase_can_have_its_own_sensitivity(cli, tmp_path: Path) -> None:
    from conftest import assert_one_line_error

    from assistant.config import load_file
    from assistant.speech.sphinx_engine import SphinxEngine, kws_threshold

    config = tmp_path / "config.toml"
    config.write_text("# mine\n[wake]\nwords = [\"samantha\"]\n")
    cli("--config", config, "wake", "add", "hey", "computer", "--sensitivity", "0.8", check=True)
    assert listed(cli, config) == ["samantha", "hey computer (sensitivity 0.8)"]
    wake = load_file(config).wake
    assert (wake.sensitivity_of("samantha"), wake.sensitivity_of("Hey Computer")) == (0.5, 0.8)
    # a more sensitive phrase gets a lower keyphrase threshold, and longer phrases lower ones too
    assert kws_threshold(10, 0.8) < kws_threshold(10, 0.5) < kws_threshold(7, 0.5)
    assert SphinxEngine(open_vocabulary=False).spotter({"samantha": 0.5, "hey computer": 0.8}) is not None
    assert SphinxEngine(open_vocabulary=False).spotter({"zqxv": 0.5}) is None
    cli("--config", config, "wake", "remove", "hey", "computer", check=True)
    assert "sensitivities" not in config.read_text() and config.read_text().startswith("# mine\n")
    assert "not a number from 0 to 1" in cli("--config", config, "wake", "add", "ada", "--sensitivity", "2").stderr
    config.write_text("[wake]\nsensitivities = { samantha = \"high\" }\nsensitivity = 1.5\n")
    checked = cli("--config", config, "config", "check")  # every problem at once, one line each
    assert checked.returncode != 0 and "Traceback" not in checked.stderr
    assert "config.toml:2: wake.sensitivities: must be a table of phrases and numbers" in checked.stderr
    assert "config.toml:3: wake.sensitivity: 1.5 is out of range" in checked.stderr


# --- weighing readings (the engine's scores themselves are tested in test_engines.py) ------------

def test_a_template_sentence_is_written_the_way_the_reading_was() -> None:
    from assistant.intents.rescore import written_like

    assert written_like("repeat that", "Repeat now.") == "Repeat that."
    assert written_like("set a timer for 10 seconds", "Santa timer for 10 seconds.", "Samantha, ") == "set a timer for 10 seconds."
    assert written_like("what day is it", "what made it?") == "what day is it?"
    assert written_like("help", "killed") == "help"


def test_the_name_is_tried_in_place_of_the_first_words() -> None:
    from assistant.intents.rescore import with_name

    assert with_name("some men don't help.", "Samantha") == [
        "Samantha, some men don't help.", "Samantha, men don't help.", "Samantha, don't help.", "Samantha, help.",
        "Samantha."]
    assert with_name("Some men.", "Samantha") == ["Samantha, some men.", "Samantha, men.", "Samantha."]
    assert with_name("So, I told him.", "Ada") == ["Ada, so, I told him.", "Ada, I told him.", "Ada, told him.", "Ada, him.", "Ada."]
    assert with_name("Come in, come in.", "Samantha")[-1] == "Samantha."
    # the bare name is written as the reading ends: a glance that stopped at the name often has no full stop
    assert with_name("come in,", "Samantha", insert=False) == ["Samantha, in,", "Samantha,"]
    assert with_name("come in", "Samantha")[-1] == "Samantha"
    assert "Samantha." not in with_name("the manager asked for a summary.", "Samantha")
    assert with_name("", "Ada") == []


def test_a_reading_is_chosen_only_within_the_margin() -> None:
    from assistant.intents.rescore import choose

    near = choose(-2.0, [-4.6, -15.7], ["repeat that", "help"], margin=4.0)
    assert near is not None and (near.text, near.index) == ("repeat that", 0) and near.margin == pytest.approx(-2.6)
    assert choose(-2.0, [-18.5, -19.9], ["what is the time", "help"], margin=4.0) is None
    better = choose(-10.6, [-9.1], ["Samantha, help."], margin=4.0)
    assert better is not None and better.margin > 0
    assert choose(-1.0, [], [], margin=4.0) is None


def test_a_for_written_as_a_four_is_undone() -> None:
    from assistant.intents.router import unfused_for

    assert unfused_for("set a time of 425 minutes.") == "set a time of for 25 minutes."
    assert unfused_for("start a time of four 90 seconds.") == "start a time of for 90 seconds."
    assert unfused_for("set a timer for 4 minutes") == "set a timer for 4 minutes"
    assert unfused_for("read message 4") == "read message 4"
    assert unfused_for("Santa, timer, 14 seconds.") == "Santa, timer, for 10 seconds."  # "fourteen" for "for ten"


def test_numbers_whisper_mishears_are_read_back_for_weighing() -> None:
    from assistant.intents.router import misheard_numbers

    assert "set a timer for 1 hour and 15 minutes." in misheard_numbers("set a timer for well hour and 15 minutes.")
    assert misheard_numbers("set a timer for an hour and a half") == ["set a timer for an hour and a half"]
    assert misheard_numbers("set a time of 425 minutes")[1] == "set a time of for 25 minutes"
    assert "Tyler for 1 hower and 15 minutes." in misheard_numbers("Tyler for well-hower and 15 minutes.")


def test_a_bare_name_is_chosen_only_when_no_reading_with_a_command_is_near() -> None:
    from assistant.intents.rescore import choose_named

    readings = ["Samantha, men don't help.", "Samantha, help.", "Samantha."]
    picked = choose_named(-10.5, [-25.0, -9.0, -6.7], readings, [0, 0, 1])
    assert picked is not None and (picked.text, picked.index) == ("Samantha, help.", 1)
    picked = choose_named(-4.0, [-25.0, -19.0, -6.2], readings, [0, 0, 1])
    assert picked is not None and (picked.text, picked.index) == ("Samantha.", 2)
    assert choose_named(-4.0, [-25.0, -19.0, -16.0], readings, [0, 0, 1]) is None
    # a command as heard ranks before one only near it, though the shorter reading scores higher
    readings = ["Ada, what's your name?", "Ada, your name?", "Ada."]
    picked = choose_named(-6.0, [-8.0, -5.0, -4.0], readings, [0, 1, 2])
    assert picked is not None and picked.text == "Ada, what's your name?"
    assert choose_named(-6.0, [-12.0, -5.0, -4.0], readings, [0, 1, 2]).text == "Ada, your name?"


@pytest.mark.parametrize("text,command", [
    ("What time is it, Samantha?", "What time is it?"),
    ("Read the first one. Samantha,", "Read the first one."),
    ("Thanks, hey computer.", "Thanks."),
    ("What time is it? Samantha, Samantha!", "What time is it?"),  # en-us+f1, read by a new user's daemon
])
def test_a_name_said_last_and_set_apart_is_a_call(text: str, command: str) -> None:
    matcher = WakeMatcher(["samantha", "hey computer"])
    hit = matcher.match_last(text)
    assert matcher.match(text) is None and hit is not None and hit.last and hit.command == command


@pytest.mark.parametrize("text", ["I told Samantha.", "We met Samantha", "Samanthas, all of them."])
def test_a_name_glued_to_the_words_before_it_is_a_mention(text: str) -> None:
    matcher = WakeMatcher(["samantha"])
    assert matcher.match(text) is None and matcher.match_last(text) is None


def test_a_name_echoed_after_the_command_is_not_part_of_it() -> None:
    # prompted with the name, Whisper sometimes writes it again at the end
    hit = WakeMatcher(["samantha"]).match("Samantha, what's the time? Samantha")
    assert hit is not None and hit.command == "what's the time?"
    # or going round on it before the command
    hit = WakeMatcher(["samantha"]).match("Samantha, Samantha, what's the time?")
    assert hit is not None and hit.command == "what's the time?" and hit.set_apart


@pytest.mark.parametrize(("heard", "phrase"), [
    ("Pumble Bee.", "bumblebee"), ("4Q pine.", "porcupine"), ("Eco Voice.", "picovoice"),
    ("Hey, Semantha. What time is it?", "samantha"),
])
def test_a_wake_phrase_spelled_otherwise_is_found_by_its_sound(phonetics, heard: str, phrase: str) -> None:
    # Whisper's readings of the words of porcupine-keywords.wav, and a misspelled name
    matcher = WakeMatcher(["samantha", "bumblebee", "porcupine", "picovoice"], phonetics)
    hit = matcher.match(heard)
    assert hit is not None and hit.phrase == phrase and hit.by_sound
    assert WakeMatcher(["samantha", "bumblebee", "porcupine", "picovoice"]).match(heard) is None  # letters alone


@pytest.mark.parametrize("heard", [
    "Amanda, what time is it?", "Santa, timer for 10 minutes.", "Some of the mountains.", "Pumble bee is here",
    "I told Semantha.", "Summer in Atlanta is humid.",
])
def test_words_that_only_resemble_the_name_or_run_on_from_it_are_no_call(phonetics, heard: str) -> None:
    matcher = WakeMatcher(["samantha", "bumblebee"], phonetics)
    assert matcher.match(heard) is None and matcher.match_last(heard) is None


def test_a_name_said_last_is_found_by_its_sound(phonetics) -> None:
    hit = WakeMatcher(["mycroft"], phonetics).match_last("What's the weather next week, My Craft?")
    assert hit is not None and hit.last and hit.by_sound and hit.command == "What's the weather next week?"


def test_phones_come_from_espeak_ng_and_like_phones_cost_less(phonetics) -> None:
    assert phonetics.phonemic
    assert phonetics.phones("Samantha") == ("s", "ɐ", "m", "æ", "n", "θ", "ə")
    assert phonetics.phones("4") == phonetics.phones("four")  # numbers as said
    assert phonetics.distance("bumblebee", "bumblebee") == 0
    # a voicing pair (p/b) is nearer than any other consonant (k/b)
    assert phonetics.distance("pumblebee", "bumblebee") < phonetics.distance("kumblebee", "bumblebee")


def test_dictation_keeps_a_first_word_that_only_sounds_like_the_name(phonetics) -> None:
    matcher = WakeMatcher(["ada"], phonetics)
    assert matcher.strip("Ida, I miss you.") == "I miss you."  # a command: the name misspelled
    assert matcher.strip("Ida, I miss you.", by_sound=False) == "Ida, I miss you."  # a dictated sentence
    assert matcher.strip("Ada, I miss you.", by_sound=False) == "I miss you."


@pytest.mark.parametrize(("heard", "phrase", "opening"), [
    ("Pumble", "bumblebee", True), ("Hey, Pumble", "bumblebee", True), ("Saman", "samantha", True),
    ("P", "bumblebee", False), ("Sam", "samantha", False), ("Amanda", "samantha", False),
    ("the manager", "samantha", False), ("come in", "samantha", False),
])
def test_a_glance_cut_short_is_told_by_the_opening_sounds_of_the_phrase(phonetics, heard: str, phrase: str,
                                                                        opening: bool) -> None:
    # a glance ends at the spotter's hit, sometimes before the phrase's last sounds
    assert WakeMatcher(["samantha", "bumblebee"], phonetics).cut_short(heard, phrase) is opening


def _jsgf_sentences(body: str) -> set[str]:
    """Every word sequence a JSGF rule body of words, ( ), [ ] and | allows (test helper)."""
    tokens = body.replace("(", " ( ").replace(")", " ) ").replace("[", " [ ").replace("]", " ] ").split()
    position = 0

    def alternatives(closing: str | None) -> set[tuple[str, ...]]:
        nonlocal position
        found: set[tuple[str, ...]] = set()
        sequence: set[tuple[str, ...]] = {()}
        while position < len(tokens) and tokens[position] != closing:
            token = tokens[position]
            position += 1
            if token == "|":
                found |= sequence
                sequence = {()}
                continue
            if token in "([":
                inner = alternatives(")" if token == "(" else "]")
                position += 1  # the closing bracket
                part = inner | {()} if token == "[" else inner
            else:
                part = {(token,)}
            sequence = {a + b for a in sequence for b in part}
        return found | sequence

    return {" ".join(words) for words in alternatives(None)}


@pytest.mark.parametrize("numbers", [range(1, 25), range(1, 100), range(0, 60), [3, 5, 20, 21, 30, 47, 90, 99], range(5, 51)])
def test_the_grammar_says_numbers_compactly_and_allows_exactly_them(numbers) -> None:  # type: ignore[no-untyped-def]
    from assistant.intents.grammar import _numbers_jsgf
    from assistant.intents.numbers import cardinal
    from assistant.speech.engines import words_of

    compact = _numbers_jsgf(list(numbers))
    assert compact is not None
    body, words = compact
    expected = {" ".join(words_of(cardinal(n))) for n in numbers}
    assert _jsgf_sentences(body) == expected
    assert words == {w for sentence in expected for w in sentence.split()}
    assert body.count("twenty") <= 1  # each tens word once: the point of it
    assert _numbers_jsgf([5, 120]) is None  # beyond 99 the numbers are listed


def test_words_that_sound_like_a_number_are_read_back_as_one_for_weighing(phonetics) -> None:
    from assistant.intents.reading import numbers_by_sound

    # "three" heard as "free" (/f/ for /θ/), "one" as "won"; never "at" for "eight" or "then" for "ten"
    assert numbers_by_sound("I'm free at free.", phonetics) == ["I'm 3 at free.", "I'm free at 3."]
    assert numbers_by_sound("read message won", phonetics) == ["read message 1"]
    assert numbers_by_sound("what's on at then", phonetics) == []
    assert numbers_by_sound("set a timer for seven minutes", phonetics) == []  # already a number


def test_the_nearest_template_sentences_include_the_shortest_way_to_say_them(router: Router) -> None:
    # a template with many optional parts ("am I free [{day}] at {hour} [o'clock] [{ampm}]
    # [{day}]") is sampled with them left out too, not only its first hundreds of expansions
    nearest = [sentence for sentence, _likeness, _template in router.nearest_sentences("I'm free at 3.", 3)]
    assert nearest[0] == "am I free at 3"


def test_the_nearest_sentences_are_those_a_plain_scan_finds(router: Router) -> None:
    """The search skips most sentences by bounds (letters in common, the longest common
    subsequence): it must find exactly what comparing every sentence finds, ties included."""
    import difflib
    import random
    import re

    from assistant.intents.router import NUMBER, common_subsequence, digits_for_number_words, letter_positions, normalize

    def plain_scan(text: str, count: int, floor: float) -> list[tuple[float, str]]:
        shape = re.sub(r"\d+", NUMBER, digits_for_number_words(normalize(text)))
        numbers = len(re.findall(r"\d+", digits_for_number_words(normalize(text))))
        scored = [(difflib.SequenceMatcher(None, sample_shape, shape, autojunk=False).ratio(), index, sample)
                  for index, (sample_shape, sample) in enumerate(router._sample_shapes())
                  if sample_shape.split().count(NUMBER) == numbers]
        scored = sorted((item for item in scored if item[0] > floor), key=lambda item: (-item[0], item[1]))
        return [(ratio, sample) for ratio, _index, sample in scored[:count]]

    samples = [sample for _shape, sample in router._sample_shapes()]
    rng = random.Random(7)
    heard = ["Santa timer for 10 minutes.", "what made it?", "come again", "paws", "x", "read the first one",
             "what can I say, well for two?", "remind me to call Tom at 5", "Termination"]
    heard += [" ".join(rng.sample(words, k=max(1, len(words) - 1))) for words in
              (re.sub(r"[{}]", "", sample).split() for sample in rng.sample(samples, 40))]
    for text in heard:
        for count, floor in ((8, 0.0), (1, 0.5), (3, 0.3)):
            found = [(ratio, template) for _sentence, ratio, template in router.nearest_sentences(text, count, floor)]
            assert found == plain_scan(text, count, floor), text
    for a, b in (("set a timer", "santa timer"), ("", "abc"), ("abcabc", "cba"), ("what", "what")):
        longest = difflib.SequenceMatcher(None, a, b).find_longest_match(0, len(a), 0, len(b)).size
        assert longest <= common_subsequence(a, letter_positions(b), len(b)) <= min(len(a), len(b))
    assert common_subsequence("set a timer", letter_positions("santa timer"), len("santa timer")) == 9


def test_a_word_where_the_templates_take_a_number_is_tried_as_each_number(router) -> None:
    from assistant.intents.reading import NUMBER_WORDS, numbers_in_place

    sentences = numbers_in_place("remind me to call my mother at time.", router)
    assert "remind me to call my mother at 5" in sentences and "remind me to call my mother at 12" in sentences
    assert len(sentences) <= len(NUMBER_WORDS)  # only those the templates take (hours: not 30)
    assert all(router.route(s).name == "SetReminder" for s in sentences)
    assert numbers_in_place("what's the gate to me?", router) == []  # no number goes there
    assert numbers_in_place("set a timer for ten minutes", router) == []  # a number already
    # a word before a unit is already read as "1" (misheard_numbers): no other number is tried there
    assert numbers_in_place("set a timer for well hour and 15 minutes.", router) == []


def test_a_word_before_a_unit_is_still_read_by_its_sound() -> None:
    from assistant.intents.reading import numbers_by_sound
    from assistant.speech.phonetics import Phonetics

    assert "set a timer for 3 minutes" in numbers_by_sound("set a timer for free minutes", Phonetics())
