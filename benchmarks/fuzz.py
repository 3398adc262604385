"""The long fuzz profile: formulas, specs and batch files until one gives a traceback.

    python3 benchmarks/fuzz.py                    # 100,000 formulas, 20,000 specs, 1,000 batches
    python3 benchmarks/fuzz.py --examples 5000    # a shorter run

It runs the ``fuzz_long`` tests of tests/fuzz/test_fuzz.py (hypothesis; MATCALC_FUZZ_EXAMPLES
inputs of formulas, a fifth as many specs, a hundredth as many batch files) and prints pytest's
summary with the time of each profile.  Any traceback, exit code other than 0/1/2, or input
slower than test_fuzz.SECONDS fails with the input that caused it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100_000)
    args = parser.parse_args()
    env = {**os.environ, "MATCALC_FUZZ_EXAMPLES": str(args.examples), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "pytest", "tests/fuzz/test_fuzz.py", "-m", "fuzz_long"]
    command += ["-p", "no:cacheprovider", "--durations=0", "-x"]
    return subprocess.run(command, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
