"""The face detectors, declared once as data (CLI choices, defaults, the service's /info)."""

DETECTORS = ("blazeface", "mtcnn", "opencv")
DEFAULT_DETECTOR = "blazeface"  # found every face of the real photos, incl. one MTCNN misses
