"""Head pose (yaw, pitch, roll in degrees) from 68 landmarks by ``cv2.solvePnP`` against a mean 3D face.

The 3D face (:data:`MEAN_FACE_3D`) is a generic adult face of 12 points of the iBUG 68-point scheme
that move little with expression (eye corners, nose bridge and nostrils, mouth corners, chin),
assembled from adult anthropometric means (Farkas, "Anthropometry of the Head and Face", 1994:
outer canthi ~90 mm apart, inner canthi ~32 mm, mouth width ~50 mm, subnasale to chin ~70 mm, nose
tip ~20 mm in front of the subnasale). It is approximate: a face that differs from it by a few
millimetres biases the angles by a few degrees, and no data here has head-pose ground truth to
measure that. The jaw contour is left out on purpose: its 2D points follow the silhouette, which
moves over the 3D surface as the head turns.

Camera: a pinhole with focal length ``max(width, height)`` pixels and the principal point at the
image centre (the usual guess when the camera is unknown), no distortion.

Axes and signs (:class:`HeadPose`), with the image's x to the right and y down:

* ``yaw``: turn about the image's vertical axis; **positive when the nose points to the image's
  right** (the person turns to their own left).
* ``pitch``: nod about the image's horizontal axis; **positive when the nose points up** (the person
  looks up).
* ``roll``: in-plane tilt; **positive clockwise as seen in the image**.

They are the Euler angles of the model-to-camera rotation ``R = Rz(roll) @ Ry(-yaw) @ Rx(-pitch)``
(:func:`rotation_from_angles`), with ``R = I`` for a face looking straight into the camera.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["HeadPose", "MEAN_FACE_3D", "POSE_POINTS", "head_pose", "nose_offset_at_yaw", "nose_offsets", "rotation_from_angles"]

#: 0-based iBUG 68-point indices of :data:`MEAN_FACE_3D`.
POSE_POINTS = (36, 39, 42, 45, 27, 30, 31, 33, 35, 48, 54, 8)
#: The mean 3D face in millimetres, camera-like axes: x to the image's right, y down, z away from the
#: camera (the nose tip is the nearest point); origin at the nose tip. Rows follow :data:`POSE_POINTS`.
MEAN_FACE_3D = np.array(
    [
        [-45.0, -38.0, 47.0],  # 36 outer corner of the eye on the image's left
        [-16.0, -38.0, 30.0],  # 39 inner corner of that eye
        [16.0, -38.0, 30.0],  # 42 inner corner of the other eye
        [45.0, -38.0, 47.0],  # 45 its outer corner
        [0.0, -40.0, 20.0],  # 27 top of the nose bridge, between the eyes
        [0.0, 0.0, 0.0],  # 30 nose tip
        [-13.0, 9.0, 22.0],  # 31 nostril, image left
        [0.0, 12.0, 18.0],  # 33 subnasale (below the nose tip)
        [13.0, 9.0, 22.0],  # 35 nostril, image right
        [-25.0, 32.0, 35.0],  # 48 mouth corner, image left
        [25.0, 32.0, 35.0],  # 54 mouth corner, image right
        [0.0, 82.0, 30.0],  # 8 chin (menton)
    ]
)


@dataclass(frozen=True)
class HeadPose:
    """Head orientation in degrees (signs in :mod:`facealign.headpose`); ``rotation``: the ``(3, 3)``
    model-to-camera rotation; ``translation``: the nose tip in camera coordinates (mm, z = distance);
    ``reprojection_px``: RMS distance between the 12 points and the fitted model's projection."""

    yaw: float
    pitch: float
    roll: float
    rotation: np.ndarray
    translation: np.ndarray
    reprojection_px: float


def _rx(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _ry(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rz(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rotation_from_angles(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """The model-to-camera rotation of a pose given in degrees: ``Rz(roll) @ Ry(-yaw) @ Rx(-pitch)``."""
    y, p, r = (math.radians(v) for v in (yaw, pitch, roll))
    return _rz(r) @ _ry(-y) @ _rx(-p)


def camera_matrix(width: int, height: int) -> np.ndarray:
    """Pinhole intrinsics: focal ``max(width, height)`` px, principal point at the pixel-centre middle
    ``((width - 1) / 2, (height - 1) / 2)`` (facealign's pixel convention)."""
    f = float(max(width, height))
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


def head_pose(points: np.ndarray, image_size: tuple[int, int]) -> HeadPose:
    """Head pose from 68 points ``(68, 2)`` (iBUG order, image pixels) of an image ``(width, height)``.

    Raises ``ValueError`` for another number of points or when fewer than 6 of the 12 model points are finite.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.shape != (68, 2):
        raise ValueError(f"head pose needs the 68 points of the iBUG scheme, shape (68, 2); got {pts.shape}")
    image_pts = pts[list(POSE_POINTS)]
    ok = np.isfinite(image_pts).all(axis=1)
    if ok.sum() < 6:
        raise ValueError(f"head pose needs at least 6 finite model points, got {int(ok.sum())}")
    model, image_pts = MEAN_FACE_3D[ok], image_pts[ok]
    k = camera_matrix(*image_size)
    # Levenberg-Marquardt from a frontal face at the distance the points' spread gives (without a
    # start, the closed-form initialisation of 12 nearly planar points can land on the face turned 180
    # degrees in the image plane)
    spread_model = np.linalg.norm(model[:, :2] - model[:, :2].mean(axis=0), axis=1).mean()
    spread_image = np.linalg.norm(image_pts - image_pts.mean(axis=0), axis=1).mean()
    z = k[0, 0] * spread_model / max(spread_image, 1e-6)
    centre = (image_pts.mean(axis=0) - k[:2, 2]) * z / k[0, 0] - model[:, :2].mean(axis=0)
    rvec = np.zeros((3, 1))
    tvec = np.array([[centre[0]], [centre[1]], [z]])
    found, rvec, tvec = cv2.solvePnP(model, image_pts, k, None, rvec, tvec, useExtrinsicGuess=True,
                                     flags=cv2.SOLVEPNP_ITERATIVE)
    if not found:
        raise ValueError("cv2.solvePnP found no pose for these points")
    rot, _ = cv2.Rodrigues(rvec)
    projected, _ = cv2.projectPoints(model, rvec, tvec, k, None)
    rms = float(np.sqrt(np.mean(np.sum((projected.reshape(-1, 2) - image_pts) ** 2, axis=1))))
    # R = Rz(c) Ry(b) Rx(a): R[2,0] = -sin b, R[2,1] = cos b sin a, R[2,2] = cos b cos a,
    # R[1,0] = sin c cos b, R[0,0] = cos c cos b; yaw = -b, pitch = -a, roll = c
    b = math.asin(max(-1.0, min(1.0, -rot[2, 0])))
    a = math.atan2(rot[2, 1], rot[2, 2])
    c = math.atan2(rot[1, 0], rot[0, 0])
    return HeadPose(
        yaw=-math.degrees(b), pitch=-math.degrees(a), roll=math.degrees(c),
        rotation=rot, translation=tvec.reshape(3), reprojection_px=rms,
    )


def _nose_depth_over_eye_distance() -> float:
    pts = dict(zip(POSE_POINTS, MEAN_FACE_3D))
    left, right = (pts[36] + pts[39]) / 2, (pts[42] + pts[45]) / 2
    return float(((left[2] + right[2]) / 2 - pts[30][2]) / (right[0] - left[0]))


#: :data:`MEAN_FACE_3D`'s nose-tip depth in front of its eye centres over their distance (38.5 mm / 61 mm).
NOSE_DEPTH_OVER_EYE_DISTANCE = _nose_depth_over_eye_distance()


def nose_offset_at_yaw(yaw_deg: float) -> float:
    """The nose tip's offset from the eye centres' midpoint along the eye line, in eye distances, of
    :data:`MEAN_FACE_3D` turned ``yaw_deg`` under weak perspective: ``d / (2 a) * tan(yaw)``, with ``2 a``
    its eye-centre distance (61 mm) and ``d`` the nose tip's depth in front of the eye centres (38.5 mm),
    about ``0.631 tan(yaw)`` (0.36 at 30 degrees)."""
    return NOSE_DEPTH_OVER_EYE_DISTANCE * math.tan(math.radians(yaw_deg))


def nose_offsets(five: np.ndarray) -> np.ndarray:
    """How far each face is turned, read off its 5 points ``(N, 5, 2)`` (eye centres, nose tip, mouth corners
    as a detector gives them): the nose tip's offset from the eyes' midpoint along the eye line, over the
    squared eye distance (:func:`nose_offset_at_yaw` gives the value of a yaw; a nod moves it too, the nose tip
    and the eyes being at different heights). Absolute values ``(N,)``;
    ``inf`` where the two eyes coincide (a profile seen exactly side on)."""
    f = np.asarray(five, dtype=np.float64).reshape(-1, 5, 2)
    axis = f[:, 1] - f[:, 0]
    along = np.einsum("ij,ij->i", f[:, 2] - (f[:, 0] + f[:, 1]) / 2, axis)
    norm = np.einsum("ij,ij->i", axis, axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(norm > 1e-12, np.abs(along) / np.where(norm > 1e-12, norm, 1.0), np.inf)
