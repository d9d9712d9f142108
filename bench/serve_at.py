"""Serve one service as deployed (`python -m arrears.<name>`), but with its clock fixed at a
moment: the benchmarks' data are dated in the past, and a service on the wall clock would
spend the measurement rolling every customer over to today.

    .venv/bin/python bench/serve_at.py NAME ISO-MOMENT
"""

from __future__ import annotations

import sys
from datetime import datetime
from importlib import import_module

from arrears.shared.clock import FixedClock


def main() -> None:
    name, moment = sys.argv[1], datetime.fromisoformat(sys.argv[2])
    import_module(f"arrears.{name}.app").SPEC.main(clock=FixedClock(moment))


if __name__ == "__main__":
    main()
