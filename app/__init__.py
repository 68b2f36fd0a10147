"""Dispatch voice agent backend."""

__version__ = "0.1.0"
