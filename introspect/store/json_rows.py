"""A JSON list parameter as a table of typed rows (Postgres ``jsonb_to_recordset``).

One-statement writes insert a variable number of child rows (verifications, rewards, ...) from a
single bound parameter, so the statement's shape -- and its compiled form -- stays the same.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func
from sqlalchemy.dialects.postgresql import JSONB


def json_rows(name: str, *columns: Any) -> Any:
    """``jsonb_to_recordset(:b_<name>) AS <name>(col type, ...)``: bind a list of dicts as rows."""
    return (
        func.jsonb_to_recordset(bindparam(f"b_{name}", type_=JSONB))
        .table_valued(*columns)
        .render_derived(name=name, with_types=True)
    )
