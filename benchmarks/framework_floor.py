"""Framework floor (d): a minimal singer-sdk tap with the tap's SDK settings.

One stream with the same schema shape, primary key, sorted replication key
``window_start``, ``TypeConformanceLevel.NONE`` and the tap's
``BufferedMsgSpecWriter``; its records are already typed and come from a few
prebuilt templates (shallow copies), so the run costs only what the SDK costs:
no HTTP, no CSV, no casting.

    python benchmarks/framework_floor.py --config '{"rows": 1000000}' > /dev/null
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_emarsys_registrations.output import BufferedMsgSpecWriter

if TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

WINDOW_START = "2024-03-29T00:00:00+00:00"
TEXT = ("first_name", "last_name", "email", "gender", "city", "country", "optin")
TEMPLATE_VALUES: tuple[tuple[Any, ...], ...] = (
    ("Noah", "Wagner", "J.Doe+news974@example.com", "Female", "İstanbul", "Österreich", "True"),
    ("Smith, John", "Semi;colon", "info907@example.com", "Male", "Washington, D.C.", None, "True"),
    ("Sofía", "Schmidt", "J.Doe+news767@example.com", "Male", "Kraków", "France", "False"),
    ("Ólafur", None, "anna.mueller400@example.com", None, "Wien", "Japan", "False"),
)
EXTRA: tuple[tuple[Decimal | None, str | None, str | None], ...] = (
    (Decimal("123456789012345678901.47"), "2010-02-03", "VIP customer"),
    (None, None, "Line1\nLine2"),
    (Decimal("250.36"), "2023-07-28", None),
    (Decimal("7.18"), "2011-10-30", "Prefers phone; not e-mail"),
)


def templates() -> list[dict[str, Any]]:
    built = []
    for index, (values, (points, purchase, notes)) in enumerate(
        zip(TEMPLATE_VALUES, EXTRA, strict=True),
    ):
        record: dict[str, Any] = {
            "user_id": 100_000_000 + index,
            "registered_at": f"2024-03-29T0{index}:00:00+00:00",
            "window_start": WINDOW_START,
        }
        record.update(zip(TEXT, values, strict=True))
        record.update(loyalty_points=points, last_purchase_date=purchase, field_5003=notes)
        built.append(record)
    return built


SCHEMA = th.PropertiesList(
    th.Property("user_id", th.IntegerType, required=True),
    th.Property("registered_at", th.DateTimeType),
    th.Property("window_start", th.DateTimeType, required=True),
    *(th.Property(name, th.StringType) for name in TEXT),
    th.Property("loyalty_points", th.NumberType),
    th.Property("last_purchase_date", th.DateType),
    th.Property("field_5003", th.StringType),
).to_dict()


class FloorStream(Stream):
    """Already-typed records from an in-process generator."""

    name = "registrations"
    schema = SCHEMA
    primary_keys: ClassVar[list[str]] = ["user_id", "registered_at"]
    replication_key = "window_start"
    is_sorted = True
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        del context
        rows = int(self.config.get("rows", 1_000_000))
        pool = templates()
        width = len(pool)
        for index in range(rows):
            record = pool[index % width].copy()
            record["user_id"] = 100_000_000 + index
            yield record


class FrameworkFloorTap(Tap):
    """The smallest tap with the same SDK settings as tap-emarsys-registrations."""

    name = "tap-framework-floor"
    message_writer_class = BufferedMsgSpecWriter
    config_jsonschema: ClassVar[dict[str, Any]] = th.PropertiesList(
        th.Property("rows", th.IntegerType, default=1_000_000),
    ).to_dict()

    def discover_streams(self) -> list[Stream]:
        return [FloorStream(self)]


if __name__ == "__main__":
    FrameworkFloorTap.cli()
