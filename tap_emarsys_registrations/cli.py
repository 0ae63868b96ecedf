"""Console entry point: the SDK's CLI, with operator errors shown as one line."""

from __future__ import annotations

import logging
import sys

from singer_sdk.exceptions import ConfigValidationError

from tap_emarsys_registrations.errors import UserFacingError
from tap_emarsys_registrations.tap import TapEmarsysRegistrations


def main() -> None:
    """Run the tap; a configuration or API error exits 1 without a traceback."""
    logger = logging.getLogger(TapEmarsysRegistrations.name)
    try:
        TapEmarsysRegistrations.cli()
    except ConfigValidationError as exc:
        for error in exc.errors or [str(exc)]:
            logger.error("Config validation error: %s", error)  # noqa: TRY400
        sys.exit(1)
    except UserFacingError as exc:
        logger.error("%s", exc)  # noqa: TRY400 - the message is the whole story
        sys.exit(1)
