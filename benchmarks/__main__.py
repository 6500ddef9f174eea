"""``python -m benchmarks``: run the benchmarks (see ``benchmarks.run``), then the surge scenario
(``benchmarks.surge``; ``BENCH_SURGE=0`` leaves it out)."""

import os
import sys

from benchmarks import run, surge

if __name__ == "__main__":
    code = run.main()
    if code == 0 and os.environ.get("BENCH_SURGE", "1") != "0":
        code = surge.main()
    sys.exit(code)
