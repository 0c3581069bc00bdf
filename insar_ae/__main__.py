"""``python -m insar_ae`` = the ``insar-ae`` command line."""

import sys

from insar_ae.cli import main

sys.exit(main())
