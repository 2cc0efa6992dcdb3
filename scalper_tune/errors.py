"""Error hierarchy. A `ScalperTuneError` is a user mistake: the CLI prints its message
(no traceback) and exits with its `exit_code`.

An error about one argument of a library function names that argument as the Python caller
wrote it (`out /x: the folder exists ...`) and carries it as `param`; the command line renders it
as its flag (`--out /x: ...`, see `for_cli`)."""

from __future__ import annotations

from typing import Mapping


class ScalperTuneError(Exception):
    """Base of every error the user can fix; `exit_code` is what the CLI returns; `param`: the
    argument the message starts with, if any."""

    exit_code = 1

    def __init__(self, message: str = "", *, param: str | None = None):
        super().__init__(message)
        self.param = param

    def for_cli(self, flags: Mapping[str, str] | None = None) -> str:
        """The message with its leading parameter named as the command line's flag: `flags`
        maps parameters to flags where they differ from `--<param with dashes>`."""
        text = str(self)
        if not self.param or not text.startswith(self.param):
            return text
        flag = (flags or {}).get(self.param, "--" + self.param.replace("_", "-"))
        return flag + text[len(self.param):]


class UsageError(ScalperTuneError):
    """Bad command-line usage (exit code 2)."""

    exit_code = 2


class ConfigError(ScalperTuneError):
    """Invalid experiment, search-space or parameter file (exit code 2)."""

    exit_code = 2


class DataError(ScalperTuneError):
    """Market data that cannot be read or fails validation (exit code 3)."""

    exit_code = 3


class CausalityError(ScalperTuneError):
    """A feature or engine result looks ahead (exit code 4)."""

    exit_code = 4


class Interrupted(ScalperTuneError):
    """The user stopped a run (Ctrl-C); the message says how to resume (exit code 130)."""

    exit_code = 130
