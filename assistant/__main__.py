"""``python -m assistant`` is the same as the ``earpiece`` command."""

from assistant.cli import main

raise SystemExit(main())
