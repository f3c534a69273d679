"""What every record family shares: the schema types of common fields, and JSON text.

Log, inventory, admin and OCSF records all carry a `tailnet`, timestamps and JSON text
columns; they take the types from here so the same field lands the same way in every
table.
"""

from __future__ import annotations

from typing import Any

import msgspec
from singer_sdk import typing as th

# Record fields use Property directly; th.Property marks settings (tap.py), which the
# repository checks against meltano.yml and the README.
from singer_sdk.typing import Property

# `old`/`new` may be any JSON value. They are sent as JSON text (json_text, below): a
# string column loads losslessly into every target and survives the SDK's flattening,
# whereas a polymorphic type (oneOf, a type list) is mapped to one SQL type by each
# loader, differently, and broke DuckDB, flattening and PostgreSQL (README, "How old/new
# land in your warehouse"). contentMediaType tells readers the text is JSON.
JSON_TEXT = th.CustomType({"type": ["string", "null"], "contentMediaType": "application/json"})
# u64 counters: JSON Schema integers have no width limit, unlike a 53-bit float.
COUNTER = th.IntegerType(minimum=0, maximum=2**64 - 1)
TIMESTAMP = th.DateTimeType

EXTRA_FIELDS = Property(
    "extra_fields",
    JSON_TEXT,
    description=(
        "Top-level fields the API sent that this schema does not know yet, as the JSON text "
        "of one object (null when there are none), kept so a new API field is never lost."
    ),
)
TAILNET = Property(
    "tailnet",
    th.StringType,
    required=True,
    description="The tailnet the record was read from, as configured (`-`: the credential's).",
)


_JSON_ENCODER = msgspec.json.Encoder(decimal_format="number")


def json_text(value: Any) -> str | None:
    """A JSON value of any type as JSON text, or None when there is no value.

    Every loader stores text as text, so one string column holds strings, booleans,
    numbers, arrays and objects without losing which is which: the string `"true"`
    arrives quoted, the boolean `true` bare, and `18446744073709551616` with every digit.
    A JSON null and a missing value are both None (SQL NULL, not the text `null`).
    """
    if value is None:
        return None
    return _JSON_ENCODER.encode(value).decode()
