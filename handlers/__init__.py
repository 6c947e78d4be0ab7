"""Transports: one module per area, each ending in its `area` declaration (registered in `app/web.py`)."""
