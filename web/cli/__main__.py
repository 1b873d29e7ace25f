"""`python -m web.cli`: the same as the installed `samtal` command."""
import sys

from web.cli.main import main

sys.exit(main())
