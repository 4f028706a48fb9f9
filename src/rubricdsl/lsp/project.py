"""The project around a rubric: its configuration (`rubric.toml` or pyproject.toml's
`[tool.rubric]`, as `core/config.py` finds it) decides which checks are reported, and
its `data` files are the sample whose paths completion offers after `from`."""
from __future__ import annotations

import os
from pathlib import Path

from rubricdsl.core.config import ConfigError, ProjectConfig, find_config
from rubricdsl.core.diagnostics import Diagnostic
from rubricdsl.engine.reading import DataError
from rubricdsl.engine.sampling import infer_fields, read_sample
from rubricdsl.language.fmt import quote

#: records read from each sample data file for completion
SAMPLE_RECORDS = 200


class Project:
    """Configurations and sample paths, read when first needed and again when a file
    they come from changes. Problems are collected in `problems` for the server to say."""

    def __init__(self) -> None:
        self._paths: dict[str, tuple[tuple[int, int], list[tuple[str, str]]]] = {}
        self.problems: list[str] = []

    def config(self, file: str | None) -> ProjectConfig | None:
        """The configuration that applies to a rubric file (None for a document that is
        not a file, or whose configuration cannot be used: the problem is noted)."""
        if file is None:
            return None
        try:
            return find_config(Path(file))
        except ConfigError as e:
            self.problems.append(f"rubric: configuration not used: {e}")
            return None

    def reported(self, diagnostics: list[Diagnostic], file: str | None) -> list[Diagnostic]:
        """The diagnostics the configuration lets through for `file` (errors always)."""
        cfg = self.config(file)
        if cfg is None or file is None:
            return diagnostics
        disabled = cfg.ignored_codes_for(file)
        return [d for d in diagnostics if d.severity == "error" or d.code not in disabled]

    def data_paths(self, file: str | None) -> list[tuple[str, str]]:
        """(path as a rubric writes it, what is there) for every leaf path of the sample
        data files the configuration names, in the order they first appear."""
        cfg = self.config(file)
        if cfg is None:
            return []
        out: dict[str, str] = {}
        for data in cfg.data:
            for text, kind in self._sample(str(data)):
                out.setdefault(text, kind)
        return list(out.items())

    def _sample(self, data: str) -> list[tuple[str, str]]:
        try:
            st = os.stat(data)
        except OSError as e:
            self.problems.append(f"rubric: sample data {data}: cannot read: {e.strerror or e}")
            return []
        stamp = (st.st_mtime_ns, st.st_size)
        kept = self._paths.get(data)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        try:
            fields, _notes = infer_fields(read_sample(data, SAMPLE_RECORDS))
        except (DataError, OSError, ValueError) as e:
            self.problems.append(f"rubric: sample data {data}: {e}")
            fields = []
        paths = [(path_text(f.path), f.kind or "mixed values") for f in fields]
        self._paths[data] = (stamp, paths)
        return paths


def path_text(path: tuple[str, ...]) -> str:
    """A record path as a `from` clause writes it: bare keys, quoted where needed."""
    return ".".join(k if k.isidentifier() else quote(k) for k in path)


#: at most this many rubric files are read from the workspace folders for references
WORKSPACE_FILES = 2000
#: directories the walk of a workspace folder does not enter
_SKIPPED = {"node_modules", "__pycache__", "site-packages", "venv", "build", "dist"}


def rubric_files(roots: list[str], limit: int = WORKSPACE_FILES) -> list[str]:
    """The `.rubric` files under the workspace folders `roots` (their real paths, sorted
    per folder), at most `limit`: hidden directories, virtual environments and build
    output are not entered, and symbolic links to directories not followed."""
    out: list[str] = []
    seen: set[str] = set()
    for root in roots:
        for here, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIPPED)
            for name in sorted(files):
                if name.endswith(".rubric"):
                    real = os.path.realpath(os.path.join(here, name))
                    if real not in seen and os.path.isfile(real):
                        seen.add(real)
                        out.append(real)
                        if len(out) >= limit:
                            return out
    return out

