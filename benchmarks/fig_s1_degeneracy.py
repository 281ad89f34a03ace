"""Fig. S1 table: which compressions separate the two-element colourings of the
Pozdnyakov ν=2-degenerate pair (slimsoap.analysis.degenerate.pozdnyakov_pair).

Question: for each of the 16 colourings of the neighbours A, B, B', C (the same in both
members), which SOAP (3-body) and bispectrum (4-body) compressions keep the two members
equal, and which separate them? Same computation as ``slimsoap reproduce --only fig_s1``.

Run: ``python benchmarks/fig_s1_degeneracy.py [OUT.txt]`` (default
benchmarks/results/fig_s1_degeneracy.txt); a few seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

from slimsoap.study.reproduce.fig_s1 import degeneracy_table, format_table


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path(__file__).parent / "results" / "fig_s1_degeneracy.txt"
    text = format_table(degeneracy_table())
    cmd = "# python benchmarks/fig_s1_degeneracy.py (NUMBA_NUM_THREADS=1)\n"
    out.write_text(cmd + text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
