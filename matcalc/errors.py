"""The base of every error a user can cause: the CLI prints its message and exits 2."""


class MatcalcError(ValueError):
    """Input matcalc cannot use; the message says what was wrong and where."""
