"""One reader module per dataset; each exposes `open_<name>(root, *, split, num_classes, ...)`."""
