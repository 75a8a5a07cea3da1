"""scalegate: an AI scaling gateway."""

__all__: list[str] = []
__version__ = "0.1.0"
