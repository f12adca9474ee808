"""The accelerator paths of generation and RPO training, checked and timed without a
sandbox or the model's weights (see `sandgym.train.device_check`, which this runs).

Prints one JSON line; exits 1 if a check failed. ``--help`` lists the options.
"""

from __future__ import annotations

import sys

from sandgym.train.device_check import main

if __name__ == "__main__":
    sys.exit(main())
