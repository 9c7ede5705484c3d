"""scancci.evaluate (being built)."""
