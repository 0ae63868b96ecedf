"""The tap's settings as a JSON schema, for ``--about``, validation and Meltano.

It is generated from the declarations on the settings objects (``settings``),
so each setting is spelled once.
"""

from __future__ import annotations

from typing import Any, Final

from tap_emarsys_registrations.settings.declare import json_schema
from tap_emarsys_registrations.settings.tap_settings import Settings

CONFIG_SCHEMA: Final[dict[str, Any]] = json_schema(Settings)
