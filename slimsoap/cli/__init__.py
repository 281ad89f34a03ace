"""The ``slimsoap`` command line: one module per command group, dispatched by :mod:`.main`."""


class UsageError(Exception):
    """A bad invocation found after parsing (a flag that does not apply, a bad value):
    :func:`slimsoap.cli.main.main` prints it on one line and exits with status 2."""
