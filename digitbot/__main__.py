"""``python -m digitbot``: the same as the ``digitbot`` command."""

import sys

from digitbot.cli import main

sys.exit(main())
