"""The version of rubricdsl (also `rubricdsl.__version__`)."""

__version__ = "0.1.0"
