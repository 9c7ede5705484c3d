"""scancci.export (being built)."""
