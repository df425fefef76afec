"""REAPER over OSC: bank arithmetic and message bytes (codec), the client."""
