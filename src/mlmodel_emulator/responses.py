"""JSON answers rendered with orjson (about 50 µs a request cheaper than the default)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response

CHANGE_HEADER = "X-OpenMetadata-Change"


def json_response(
    content: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(content),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )
