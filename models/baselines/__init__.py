"""Baseline gain sources: classic live automixers to compare the model against."""
