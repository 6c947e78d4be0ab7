"""Localized messages: `vi` and `en` catalogs merged from `server/messages/*`, picked by Accept-Language."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from typing import Any

import server.messages as messages_pkg

LOCALES = ("vi", "en")


@lru_cache
def catalogs() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {loc: {} for loc in LOCALES}
    for info in pkgutil.iter_modules(messages_pkg.__path__):
        module = importlib.import_module(f"{messages_pkg.__name__}.{info.name}")
        for loc in LOCALES:
            table = getattr(module, loc.upper())
            clash = merged[loc].keys() & table.keys()
            if clash:
                raise RuntimeError(f"message keys defined twice: {sorted(clash)}")
            merged[loc].update(table)
    return merged


def translate(key: str, locale: str, **params: Any) -> str:
    text = catalogs().get(locale, {}).get(key) or catalogs()["en"].get(key) or key
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def pick_locale(accept_language: str | None, default: str) -> str:
    """The first supported language of an Accept-Language header, by q-value; else the default."""
    if not accept_language:
        return default
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        lang, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        primary = lang.strip().lower().split("-")[0]
        if primary in LOCALES and weight > 0:
            ranked.append((-weight, position, primary))
    return min(ranked)[2] if ranked else default
