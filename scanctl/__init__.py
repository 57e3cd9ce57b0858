"""scanctl: door operations for ticketed events."""

__version__ = "0.1.0"
__all__ = ["__version__"]
