"""MIDI control surfaces: laws, Mackie Control and CC messages, mappings, ports, the surface."""
