"""The ``retention-sim`` command line (the top layer: nothing in the library imports it)."""

from .main import main

__all__ = ["main"]
