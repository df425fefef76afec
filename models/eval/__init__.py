"""Evaluation of gain sources on held-out songs: metrics (DESIGN.md section 3), tables, plots."""
