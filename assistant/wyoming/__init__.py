"""Wyoming, the protocol of the Home Assistant / Rhasspy voice ecosystem.

``services`` does the work (speech to text, text to speech, wake phrases in a stream, commands
as text) on earpiece's own engines, one request at a time in one worker thread; ``server`` speaks
the protocol (framing and event classes from the ``wyoming`` library) to many clients at once on
an asyncio loop that never waits on a model.
"""
