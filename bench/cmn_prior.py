"""The cepstral mean a fresh PocketSphinx spotter starts from (sphinx_engine.CMN_PRIOR).

PocketSphinx normalizes each frame by a running mean of the cepstra it has heard, and a fresh
decoder starts from a generic "40,3,-1": until a few seconds of speech have moved it, the
keyphrase spotter misses most names (a new user's first call, and every utterance of a bench
that starts each as a new user). This computes a better start: the mean after hearing the real
recordings in ../shared/speech, many speakers and microphones, all but porcupine-keywords.wav
(the real-speaker wake bench, kept out so that nothing is tuned on it). It is a property of
speech through a microphone, not of any voice a bench measures.

Run: .venv/bin/python bench/cmn_prior.py   (prints the value to paste into CMN_PRIOR)
"""

from __future__ import annotations

from common import ROOT

from assistant.audio import FRAME_SAMPLES  # noqa: E402
from assistant.audio.resample import float_to_int16  # noqa: E402
from assistant.audio.wavio import read_wav  # noqa: E402
from assistant.speech.sphinx_engine import SphinxEngine  # noqa: E402

KEPT_OUT = ("porcupine-keywords.wav",)
"""Recordings a benchmark judges the spotter on."""


def main() -> None:
    spotter = SphinxEngine(open_vocabulary=False).spotter({"samantha": 0.5}, prior=False)
    assert spotter is not None
    recordings = [p for p in sorted((ROOT.parent / "shared" / "speech").glob("*.wav")) if p.name not in KEPT_OUT]
    for path in recordings:
        pcm = float_to_int16(read_wav(path))
        for at in range(0, len(pcm) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
            spotter.accept(pcm[at : at + FRAME_SAMPLES])
        spotter.reset()
    print(f"after {len(recordings)} recordings: {spotter.cepstral_mean}")


if __name__ == "__main__":
    main()
