"""The exit statuses of every `rubric` command, by name (docs/cli.md lists them).

A command exits `OK` when it is done and nothing reached its failure threshold;
`FINDINGS` when something did (findings at `--fail-on`, diagnostics at `--fail-level`,
failing examples, changes at `--fail-on-change`); `CHANGED` (the same number) when
`fmt --check` or `doc --check` finds a file that is not as it would be written;
`ERROR` when it could not run (usage, an unreadable or invalid rubric, a missing file,
an output that cannot be written); `INTERRUPTED` on Ctrl-C.
"""
from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_CHANGED = EXIT_FINDINGS
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
