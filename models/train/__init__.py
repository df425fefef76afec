"""Training of the mixer networks (ALM-MR/SR, DMC): configs, losses, cached features, the loop."""
