"""scancci.inference (being built)."""
