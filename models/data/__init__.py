"""The live-stage data engine: synthetic band multitracks with bleed, targets and oracle gains."""
