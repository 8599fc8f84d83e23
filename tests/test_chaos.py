"""kill -9 anywhere loses nothing: 30 SIGKILLs at random moments of a scripted session (tests/chaos.py)."""

from __future__ import annotations

from pathlib import Path

from chaos import chaos


def test_kill_minus_nine_at_thirty_random_moments_loses_nothing(speech, tmp_path: Path) -> None:
    figures = chaos(tmp_path, speech, kills=30)
    assert figures.problems == []
    assert figures.kills == 30
    assert figures.answered_first == figures.runs  # after every restart, the time comes first
    assert figures.sentences_kept == figures.sentences_acknowledged > 0
    assert figures.timers_kept == figures.timers_acknowledged > 0
    assert figures.configs_whole == figures.mailbox_whole == figures.runs
    assert figures.letters_saved > 0 and figures.letters_empty == figures.letters_doubled == 0
