"""Bundled demo song and the script that generates it."""
