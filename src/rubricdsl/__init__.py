"""rubricdsl: labeling guidelines as checkable rubrics.

    >>> import rubricdsl
    >>> rubric = rubricdsl.load("rubrics/response-safety/response-safety.rubric")  # doctest: +SKIP
    >>> rubric.check({"labels": {...}})                                             # doctest: +SKIP
"""
from .api import Rubric, compile_text, load, loads
from .diagnostics import Diagnostic, RubricError

__version__ = "0.1.0"
__all__ = ["Rubric", "RubricError", "Diagnostic", "load", "loads", "compile_text", "__version__"]
