"""Media players on the headset: MPRIS over the session D-Bus, and ducking them while the
assistant is in a conversation."""
