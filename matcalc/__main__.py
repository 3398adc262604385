"""``python -m matcalc`` is the ``matcalc`` command."""

import sys

from matcalc.cli import main

sys.exit(main())
