"""Audio edges: devices, capture, playback, WAV files, resampling, voice activity."""

SAMPLE_RATE = 16_000
"""The pipeline's one internal rate: every source is converted to 16 kHz mono int16."""

FRAME_SAMPLES = 320
"""20 ms frames: webrtcvad accepts 10/20/30 ms, and 20 ms keeps latency and CPU low."""
