"""Was the assistant called? The wake phrase as text (matcher) and the decision on audio (decider)."""

from assistant.wake.decider import Glance, NameReading, WakeDecider, WakeDecision
from assistant.wake.matcher import LEAD_INS, WakeHit, WakeMatcher

__all__ = ["Glance", "LEAD_INS", "NameReading", "WakeDecider", "WakeDecision", "WakeHit", "WakeMatcher"]
