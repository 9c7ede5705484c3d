"""scancci.train (being built)."""
