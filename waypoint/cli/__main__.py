"""``python -m waypoint.cli``: the ``waypoint`` command."""

from waypoint.cli import main

raise SystemExit(main())
