"""The JSON module of the Socket.IO and Engine.IO packets: orjson, with the stdlib as fallback.

Every event sent or received is encoded and decoded once per packet; the stdlib's json was a
visible share of the saturated chat server's profile. python-socketio takes a module with
`dumps`/`loads` (`AsyncServer(json=...)`). orjson refuses a few inputs the stdlib accepts (NaN,
lone surrogates, integers over 64 bits, non-string keys, deeper nesting): those fall back to the
stdlib, so what decodes and what is refused is exactly as before (the refusals the socket layer
answers: invalid JSON, too deeply nested, text that is not valid Unicode).
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(obj: Any, **kwargs: Any) -> str:
    """Compact JSON text (what `json.dumps(obj, separators=(",", ":"))` means, as UTF-8 text)."""
    try:
        return orjson.dumps(obj).decode()
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(obj, separators=(",", ":"), **{k: v for k, v in kwargs.items() if k != "separators"})


def loads(text: str | bytes, **kwargs: Any) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text, **kwargs)
