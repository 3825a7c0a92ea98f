#!/usr/bin/env python3
"""Regenerates the fixtures of ArrowStreamReaderTests.

Two kinds of file:

* `*.json`: whole query-request responses of fakesnow's HTTP server, captured over the real
  protocol (login-request, then query-request with a session token), as a Snowflake client sees
  them. `data.rowsetBase64` is the Arrow IPC stream the reader decodes.
* `pyarrow_*.arrows`: small IPC streams written by pyarrow directly, for the Arrow types and
  stream forms fakesnow never emits (narrow ints, float32, large strings, the legacy framing
  without the continuation marker, dictionary encoding and compression, which must be refused).

Usage (fakesnow[server]==0.12.1, which pulls in pyarrow and requests):

    fakesnow -s -p 18765 &
    python3 Tests/SnowflakeTests/Captured/capture.py http://127.0.0.1:18765

The values inserted here are the values the tests assert; change both together. Query ids and
timings in the responses differ from run to run, nothing else does.
"""

from __future__ import annotations

import json
from decimal import Decimal
import pathlib
import sys

import pyarrow as pa
import requests

HERE = pathlib.Path(__file__).resolve().parent


class Session:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        response = requests.post(
            f"{self.base}/session/v1/login-request",
            params={"databaseName": "CONDUIT", "schemaName": "PUBLIC"},
            json={
                "data": {
                    "LOGIN_NAME": "u",
                    "PASSWORD": "p",
                    "ACCOUNT_NAME": "a",
                    # Each run gets an empty database, so the capture does not depend on what
                    # the server saw before.
                    "SESSION_PARAMETERS": {"FAKESNOW_DB_PATH": ":isolated:"},
                }
            },
            timeout=30,
        )
        response.raise_for_status()
        self.token = response.json()["data"]["token"]
        self.sequence = 0

    def query(self, sql: str, bindings: dict | None = None) -> dict:
        self.sequence += 1
        body: dict = {"sqlText": sql, "sequenceId": self.sequence, "querySubmissionTime": 0}
        if bindings:
            body["bindings"] = bindings
        response = requests.post(
            f"{self.base}/queries/v1/query-request",
            json=body,
            headers={"Authorization": f'Snowflake Token="{self.token}"'},
            timeout=60,
        )
        response.raise_for_status()
        result = response.json()
        if not result.get("success"):
            raise SystemExit(f"{sql!r} failed: {result.get('message')}")
        return result

    def capture(self, name: str, sql: str, bindings: dict | None = None) -> None:
        result = self.query(sql, bindings)
        result["capturedSQL"] = sql
        if bindings:
            result["capturedBindings"] = bindings
        path = HERE / f"{name}.json"
        path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{path.name}: {path.stat().st_size} bytes")


def capture_fakesnow(base: str) -> None:
    s = Session(base)
    for sql in [
        "CREATE DATABASE IF NOT EXISTS conduit",
        "USE DATABASE conduit",
        "CREATE SCHEMA IF NOT EXISTS public",
        "USE SCHEMA public",
        """CREATE OR REPLACE TABLE conduit_types (
            id NUMBER(38,0), amount NUMBER(10,2), wide NUMBER(38,10), ratio FLOAT, flag BOOLEAN,
            name VARCHAR, doc VARIANT, ts_tz TIMESTAMP_TZ, ts_ntz TIMESTAMP_NTZ, day DATE,
            tod TIME, raw BINARY)""",
        """INSERT INTO conduit_types SELECT 1, 12.34, 1234567890123456789012345678.0123456789,
            1.5, TRUE, 'hello', PARSE_JSON('{"a":1,"b":[true,null]}'),
            '2024-01-02 03:04:05.123456 +00:00'::TIMESTAMP_TZ,
            '2024-01-02 03:04:05.123456'::TIMESTAMP_NTZ, '2024-01-02'::DATE,
            '03:04:05.123456'::TIME, TO_BINARY('DEADBEEF', 'HEX')""",
        """INSERT INTO conduit_types SELECT -9223372036854775808, -0.05, -0.0000000001,
            -2.5e-10, FALSE, 'Grüße, 世界 🚀', PARSE_JSON('[1,"x",null]'),
            '1969-12-31 23:59:59.5 +00:00'::TIMESTAMP_TZ,
            '1900-02-28 12:00:00'::TIMESTAMP_NTZ, '1969-12-31'::DATE, '23:59:59'::TIME,
            TO_BINARY('', 'HEX')""",
        """INSERT INTO conduit_types SELECT 9223372036854775807, 99999999.99,
            -9999999999999999999999999999.9999999999, 0, FALSE, '', PARSE_JSON('"just a string"'),
            '2024-06-30 23:59:59.999999 +05:30'::TIMESTAMP_TZ,
            '9999-12-31 23:59:59.999999'::TIMESTAMP_NTZ, '9999-12-31'::DATE, '00:00:00'::TIME,
            TO_BINARY('00FF', 'HEX')""",
        "INSERT INTO conduit_types (id) VALUES (4)",
        "CREATE OR REPLACE TABLE _conduit_checkpoints (resource VARCHAR, run VARCHAR, value VARCHAR, rows NUMBER(38,0))",
        """INSERT INTO _conduit_checkpoints VALUES
            ('public.users', 'run-1', '2024-01-02T03:04:05Z', 1000),
            ('public.users', 'run-2', NULL, 0),
            ('public.orders', 'run-1', '42', 7)""",
        "CREATE OR REPLACE TABLE many AS SELECT seq4() AS n, 'row ' || seq4() AS label FROM TABLE(GENERATOR(ROWCOUNT => 5000))",
    ]:
        s.query(sql)

    s.capture("select_all_types", "SELECT * FROM conduit_types ORDER BY id")
    s.capture(
        "information_schema_columns",
        "SELECT column_name, data_type, ordinal_position, numeric_precision, numeric_scale, is_nullable"
        " FROM information_schema.columns WHERE table_schema = 'PUBLIC' AND table_name = 'CONDUIT_TYPES'"
        " ORDER BY ordinal_position",
    )
    s.capture(
        "checkpoint_select",
        "SELECT run, value, rows FROM _conduit_checkpoints WHERE resource = ? ORDER BY run",
        {"1": {"type": "TEXT", "value": "public.users"}},
    )
    s.capture("empty_result", "SELECT * FROM conduit_types WHERE 1 = 0")
    s.capture("many_rows", "SELECT n, label FROM many ORDER BY n")
    s.capture("show_tables", "SHOW TABLES LIKE 'CONDUIT%'")
    s.capture("describe_table", "DESCRIBE TABLE conduit_types")


def write_stream(name: str, table: pa.Table, **options) -> None:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=pa.ipc.IpcWriteOptions(**options)) as writer:
        # One message per batch, empty ones included (write_table would merge or drop them).
        for batch in table.to_batches():
            writer.write_batch(batch)
    path = HERE / f"pyarrow_{name}.arrows"
    path.write_bytes(sink.getvalue().to_pybytes())
    print(f"{path.name}: {path.stat().st_size} bytes")


def capture_pyarrow() -> None:
    narrow = pa.table(
        {
            "i8": pa.array([-128, 127, None], pa.int8()),
            "i16": pa.array([-32768, 32767, None], pa.int16()),
            "i32": pa.array([-2147483648, 2147483647, None], pa.int32()),
            "u8": pa.array([0, 255, None], pa.uint8()),
            "u16": pa.array([0, 65535, None], pa.uint16()),
            "u32": pa.array([0, 4294967295, None], pa.uint32()),
            "u64": pa.array([0, 9223372036854775807, None], pa.uint64()),
            "f32": pa.array([1.5, -0.25, None], pa.float32()),
            "f16": pa.array([1.5, -2.0, None], pa.float16()),
            "null": pa.array([None, None, None], pa.null()),
            "large_text": pa.array(["a", "ü", None], pa.large_string()),
            "large_bytes": pa.array([b"\x00", b"", None], pa.large_binary()),
            "date64": pa.array([86400000, -86400000, None], pa.date64()),
            "dec64": pa.array([Decimal("1.5"), Decimal("-12345678.90"), None], pa.decimal64(10, 2)),
            "point": pa.array(
                [{"x": 1, "label": "a"}, None, {"x": None, "label": "c"}],
                pa.struct([("x", pa.int32()), ("label", pa.string())]),
            ),
        }
    )
    write_stream("narrow_types", narrow)
    # Three record batches, the middle one empty.
    write_stream(
        "three_batches",
        pa.Table.from_batches(
            [pa.record_batch({"n": pa.array(values, pa.int64())}) for values in ([1, 2, 3], [], [4, None])]
        ),
    )
    small = pa.table({"n": pa.array([1, 2, 3], pa.int64())})
    write_stream("legacy_framing", small, use_legacy_format=True)
    # Forty structs deep: past the reader's nesting limit.
    deep = pa.array([1], pa.int64())
    for _ in range(40):
        deep = pa.StructArray.from_arrays([deep], names=["inner"])
    write_stream("deep_struct", pa.table({"deep": deep}))
    write_stream("dictionary", pa.table({"d": pa.array(["x", "y", "x"]).dictionary_encode()}))
    write_stream("lz4", pa.table({"n": pa.array(range(100), pa.int64())}), compression="lz4")


if __name__ == "__main__":
    capture_pyarrow()
    capture_fakesnow(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:18765")
