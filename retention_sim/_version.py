"""The package version, in one place (read by the result store and every summary)."""

__all__ = ["__version__"]

__version__ = "0.1.0"
