"""AiLive Mixer models: gain sources (network and baselines), data, training and evaluation."""
