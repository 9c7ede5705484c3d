"""scancci.serve (being built)."""
