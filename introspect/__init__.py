"""Introspect: make LLM agents check and improve their own answers."""

__version__ = "0.1.0"
