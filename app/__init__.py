"""The composition root: builds the HTTP app (`app.web`) and the worker (`app.worker`) from their parts.

Only `run.py` and the tests import this package. It is the one place that knows every layer:
`server/` is the infrastructure, `handlers/` the transports, `models/` the rules, `workers/` the
consumers, and nothing below imports back up here.
"""
