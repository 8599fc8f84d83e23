"""kill -9 anywhere: the chaos test's session (tests/chaos.py) killed at random moments; the
figures go to docs/benchmarks.md. Usage: .venv/bin/python bench/chaos.py [--kills 30] [--homes 2]"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, write_section

sys.path.insert(0, str(ROOT / "tests"))
from chaos import chaos  # noqa: E402
from speech import SpeechMaker  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--homes", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="earpiece-chaos-") as tmp:
        began = time.monotonic()
        figures = chaos(Path(tmp), SpeechMaker(Path(tmp) / "speech"), args.kills, args.homes)
        seconds = time.monotonic() - began
    problems = "".join(f"\n- {problem}" for problem in figures.problems) or " none"
    body = f"""Script: `bench/chaos.py --kills {args.kills} --homes {args.homes}` (the session of `tests/chaos.py`: the time, a
five-hour timer, a four-hour reminder, a letter dictated and saved, the mail read and marked read, a rename, a second
letter left open; file mode, each run in the home the last one left, {args.homes} homes side by side;
SIGKILL after a random event of the run, {seconds:.0f} s). `tests/test_chaos.py` asserts the same.

| measure | figure |
|---|---|
| runs (a clean one first and last in each home) | {figures.runs} |
| SIGKILLs that landed on a running process | {figures.kills} |
| runs whose first reply was the time ("after a restart it answers first") | {figures.answered_first} of {figures.runs} |
| sentences kept of sentences acknowledged (`letter append`) | {figures.sentences_kept} of {figures.sentences_acknowledged} |
| letters saved / empty / saved twice | {figures.letters_saved} / {figures.letters_empty} / {figures.letters_doubled} |
| timers and reminders kept (with their due time) of those acknowledged | {figures.timers_kept} of {figures.timers_acknowledged} |
| config readable with a whole name / mailbox whole, after each run | {figures.configs_whole} / {figures.mailbox_whole} of {figures.runs} |

Problems:{problems}
"""
    write_section("Chaos: kill -9 anywhere", body)
    print(body)


if __name__ == "__main__":
    main()
