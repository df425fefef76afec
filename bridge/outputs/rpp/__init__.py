"""REAPER project files: volume envelopes (envelope) and the recorder/writer (writer)."""
