"""Learn mode: the recording of an engineer's mix, the fine-tune on it, the user's models."""
