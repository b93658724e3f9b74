"""facealign: 2D facial landmark detection on a shared core."""

__version__ = "0.1.0"

__all__ = ["__version__"]
