"""One module per `scancci` sub-command; see scancci.cli."""
