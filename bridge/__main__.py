"""`python -m bridge` runs the `ailive` command line."""

from bridge.cli import main

raise SystemExit(main())
