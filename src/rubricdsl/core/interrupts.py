"""Ctrl-C during long native work (the z3 solver, numpy loops).

Left to itself, z3 catches SIGINT during a check and answers `unknown`, which drops
one question and goes on with the next (and some of its procedures notice the
interrupt late or not at all); and Python's KeyboardInterrupt, raised while ctypes
converts the arguments of a z3 call, becomes a ctypes error. Inside an
`Interruptible` context Python's SIGINT handler only records the signal, and a
thread woken by it (through `signal.set_wakeup_fd`, which the interpreter writes to
even while the main thread is inside native code) calls `on_signal` to stop the
native call under way. `poll_interrupt()`, called at points where Python code runs
(before and after every solver check, once per arm of a large table), then raises
KeyboardInterrupt; leaving the context raises it too.

The context does nothing outside the main thread (an API call from another thread)
or when one is already active.
"""
from __future__ import annotations

import os
import signal
import threading
from typing import Any, Callable


class Interruptible:
    active: "Interruptible | None" = None

    def __init__(self, on_signal: Callable[[], None]) -> None:
        self.on_signal = on_signal
        self.requested = False
        self._armed = False

    def __enter__(self) -> "Interruptible":
        if threading.current_thread() is not threading.main_thread() or Interruptible.active is not None:
            return self
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._old_fd = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        self._old_handler = signal.signal(signal.SIGINT, self._on_sigint)
        self._thread = threading.Thread(target=self._watch, name="rubric-interrupts", daemon=True)
        self._thread.start()
        self._armed = True
        Interruptible.active = self
        return self

    def _on_sigint(self, signum: int, frame: Any) -> None:
        self.requested = True

    def _watch(self) -> None:
        while True:
            try:
                data = os.read(self._read, 64)
            except OSError:
                return
            if not data:
                return
            if signal.SIGINT in data:  # the interpreter writes one byte per signal: its number
                self.requested = True  # before the main thread's handler runs: what on_signal stops sees it
                self.on_signal()

    def __exit__(self, *exc: object) -> None:
        if not self._armed:
            return
        Interruptible.active = None
        self._armed = False
        signal.signal(signal.SIGINT, self._old_handler)
        signal.set_wakeup_fd(self._old_fd)
        os.close(self._write)  # the watcher reads the end of the pipe and stops
        self._thread.join()
        os.close(self._read)
        if self.requested and exc[0] is None:
            raise KeyboardInterrupt


def poll_interrupt() -> None:
    """Raise KeyboardInterrupt if Ctrl-C was pressed inside the active context."""
    active = Interruptible.active
    if active is not None and active.requested:
        raise KeyboardInterrupt
