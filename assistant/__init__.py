"""earpiece: an offline, always-on voice assistant for a headset."""

__version__ = "0.1.0"
