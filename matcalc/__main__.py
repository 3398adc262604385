"""``python -m matcalc`` is the ``matcalc`` command."""

from matcalc.cli import command

command()
