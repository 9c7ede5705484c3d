"""scancci.models (being built)."""
