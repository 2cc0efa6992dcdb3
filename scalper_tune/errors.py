"""Error hierarchy. A `ScalperTuneError` is a user mistake: the CLI prints its message
(no traceback) and exits with its `exit_code`."""


class ScalperTuneError(Exception):
    """Base of every error the user can fix; `exit_code` is what the CLI returns."""

    exit_code = 1


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
