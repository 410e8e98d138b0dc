"""Exceptions that mean "the user's input is wrong".

Computation and IO code raise :class:`UserInputError` with a message that says what is wrong
and where; the CLI turns it into one line on stderr and a non-zero exit code, never a traceback.
"""


class UserInputError(ValueError):
    """A problem with data, files or options supplied by the user."""


class TrainingDivergedError(RuntimeError):
    """Training produced NaN/Inf in the loss or the attributions."""
