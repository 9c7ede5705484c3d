"""scancci.faces (being built)."""
