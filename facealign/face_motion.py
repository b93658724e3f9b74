"""The in-plane motion of a face from one video frame to the next, measured on the image.

:func:`face_motion` fits a similarity (translation, rotation, scale) to the optical flow of corner
features inside the face: Shi-Tomasi corners ("Good Features to Track", CVPR 1994) in the convex
hull of the face's landmarks on the previous frame, followed into the next frame by pyramidal
Lucas-Kanade (Bouguet, "Pyramidal Implementation of the Lucas Kanade Feature Tracker", 2000), and a
least-median-of-squares fit that ignores features that slid along an edge or left the face. It is
what :class:`facealign.tracking.FaceTracker` moves its crops by: a measurement of the motion that
does not come from the landmark network, so the network's own errors cannot feed back into where
the next crop is placed.
"""

from __future__ import annotations

import cv2
import numpy as np

from .types import Box

__all__ = ["face_motion"]

#: The face's region is its landmark box grown by this fraction of its size on every side (room for
#: the motion of one frame).
MARGIN = 0.25
#: Corner features followed: at most this many, and at least MIN_FEATURES found and followed for a fit.
MAX_FEATURES = 80
MIN_FEATURES = 8
#: Shi-Tomasi quality (fraction of the best corner's score) and minimum distance between corners (px).
CORNER_QUALITY = 0.01
CORNER_DISTANCE = 4
#: Lucas-Kanade window (px) and pyramid levels above the full resolution.
LK_WINDOW = 15
LK_LEVELS = 2


def face_motion(prev_gray: np.ndarray, gray: np.ndarray, points: np.ndarray) -> np.ndarray | None:
    """The similarity ``(2, 3)`` that carries the face whose landmarks on ``prev_gray`` are
    ``points`` onto ``gray`` (frame pixels, the convention of :mod:`facealign.geometry`), or ``None``
    when too few features could be followed (a blank or vanished face).

    Shape: ``(H, W), (H, W), (K, 2) -> (2, 3) | None``; both frames uint8 grey of the same size.
    """
    if prev_gray.shape != gray.shape or prev_gray.ndim != 2:
        raise ValueError(f"need two grey frames of one size, got {prev_gray.shape} and {gray.shape}")
    pts = np.asarray(points, dtype=np.float64)
    box = Box.from_points(pts)
    grow = MARGIN * max(box.width, box.height)
    h, w = gray.shape
    x1, y1 = max(0, int(box.x1 - grow)), max(0, int(box.y1 - grow))
    x2, y2 = min(w, int(np.ceil(box.x2 + grow))), min(h, int(np.ceil(box.y2 + grow)))
    if x2 - x1 < LK_WINDOW or y2 - y1 < LK_WINDOW:
        return None  # the face left the frame
    before, after = prev_gray[y1:y2, x1:x2], gray[y1:y2, x1:x2]
    mask = np.zeros_like(before)
    hull = cv2.convexHull(np.round(pts - [x1, y1]).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 255)
    corners = cv2.goodFeaturesToTrack(before, MAX_FEATURES, CORNER_QUALITY, CORNER_DISTANCE, mask=mask)
    if corners is None or len(corners) < MIN_FEATURES:
        return None
    moved, status, _ = cv2.calcOpticalFlowPyrLK(before, after, corners, None, winSize=(LK_WINDOW, LK_WINDOW),
                                                maxLevel=LK_LEVELS)
    ok = status.ravel() == 1
    if ok.sum() < MIN_FEATURES:
        return None
    offset = np.array([x1, y1], dtype=np.float32)
    m, _ = cv2.estimateAffinePartial2D(corners[ok].reshape(-1, 2) + offset, moved[ok].reshape(-1, 2) + offset,
                                       method=cv2.LMEDS)
    return None if m is None else m.astype(np.float64)
