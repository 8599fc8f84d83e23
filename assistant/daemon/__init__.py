"""The background daemon: control socket, systemd integration, and the live loop it drives."""
