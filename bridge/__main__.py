"""`python -m bridge` runs the `ailive` command line."""

from bridge.cli import main

if __name__ == "__main__":  # not when a spawned engine process imports this module again
    raise SystemExit(main())
