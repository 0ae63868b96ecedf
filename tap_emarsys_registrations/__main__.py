"""Allow ``python -m tap_emarsys_registrations``."""

from tap_emarsys_registrations.cli import main

main()
