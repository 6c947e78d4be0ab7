"""The domain: pydantic shapes and async operations that enforce the rules (one module per aggregate)."""
