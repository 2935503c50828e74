"""Turning service results into JSON for ``--json``, so clinicians can script every command.

Services return frozen dataclasses and pydantic models; :func:`kneefix.jsonvalues.to_json_value` (the one
converter the API, the exports and the database use too) walks them into plain JSON types.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from kneefix.jsonvalues import to_json_value


def dumps(value: Any) -> str:
    """Pretty, stable JSON text for a result."""
    return json.dumps(to_json_value(value), indent=2, ensure_ascii=False, sort_keys=False)


def echo_json(value: Any) -> None:
    """Print ``value`` as JSON on stdout, with no Rich markup or wrapping in the way of a parser."""
    typer.echo(dumps(value))
