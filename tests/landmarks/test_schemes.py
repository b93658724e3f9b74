"""Landmark schemes (5, 29, 68, 98, 106) and conversions: hand-worked values and real annotations.

The real annotations are the native-format samples in ``../shared/data/samples`` (WFLW rows, JD-106
text files, the COFW ``.mat``, 300-W / 300-VW ``.pts``), parsed here with a few lines each so these
tests do not depend on the dataset readers.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from facealign.landmarks import (
    COFW29,
    FIVE,
    IBUG68,
    JD106,
    SCHEMES,
    WFLW98,
    WFLW98_TO_IBUG68,
    LandmarkScheme,
    can_convert,
    convert,
    convert_points,
    get_scheme,
    scheme_for_count,
    to_five,
    wflw98_to_ibug68,
)

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "samples"
NEEDS_DATA = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"sample annotations not found at {SAMPLES}")
ALL = [FIVE, COFW29, IBUG68, WFLW98, JD106]
DENSE = [COFW29, IBUG68, WFLW98, JD106]

# Face parts for the mirror check: a flip pair's two points and their neighbours lie in one part.
PARTS = {
    "29": [range(0, 8), range(8, 18), range(18, 22), range(22, 28)],
    "68": [range(0, 17), range(17, 27), range(27, 36), range(36, 48), range(48, 60), range(60, 68)],
    "98": [
        *(range(0, 33), range(33, 51), range(51, 60), range(60, 76), range(76, 88), range(88, 96)),
        (60, 72, 96, 97, 54, 76, 82),  # eye corners, pupils, nose tip, mouth corners
    ],
    "106": [
        *(range(0, 33), range(33, 51), range(51, 66), range(66, 84), range(84, 96), range(96, 104)),
        (66, 79, 104, 105, 54, 84, 90),
    ],
}
# Eye contour points (left eye, right eye); the inter-ocular pair must be the two farthest apart.
EYE_POINTS = {
    "29": ((8, 10, 12, 13), (9, 11, 14, 15)),
    "68": (tuple(range(36, 42)), tuple(range(42, 48))),
    "98": (tuple(range(60, 68)), tuple(range(68, 76))),
    "106": (tuple(range(66, 74)), tuple(range(75, 83))),
}


# ----------------------------------------------------------------------------- real annotations


def _wflw_rows() -> list[np.ndarray]:
    rows = []
    for line in (SAMPLES / "wflw" / "list_98pt_rect_attr_test.txt").read_text().splitlines():
        tokens = line.split()
        if tokens:
            rows.append(np.array(tokens[:196], dtype=np.float64).reshape(98, 2))
    return rows


def _jd_faces() -> list[np.ndarray]:
    faces = []
    for f in sorted((SAMPLES / "jd106" / "landmark").glob("*.txt")):
        lines = f.read_text().split("\n")
        n = int(lines[0])
        faces.append(np.array([ln.split() for ln in lines[1 : n + 1]], dtype=np.float64))
    return faces


def _cofw_faces() -> list[np.ndarray]:
    from scipy.io import loadmat

    phis = loadmat(str(SAMPLES / "cofw" / "COFW_test_color.mat"))["phisT"]
    return [np.stack([ph[:29], ph[29:58]], axis=1) - 1.0 for ph in phis]  # 1-based -> 0-based


def _pts_faces() -> list[np.ndarray]:
    files = sorted(SAMPLES.glob("300w/*.pts")) + sorted(SAMPLES.glob("300vw/*/annot/*.pts"))
    faces = []
    for f in files:
        body = f.read_text().split("{")[1].split("}")[0]
        faces.append(np.array(body.split(), dtype=np.float64).reshape(-1, 2) - 1.0)
    return faces


def _real(name: str) -> list[np.ndarray]:
    faces = {"29": _cofw_faces, "68": _pts_faces, "98": _wflw_rows, "106": _jd_faces}[name]()
    assert faces and all(f.shape == (get_scheme(name).num_points, 2) for f in faces)
    return faces


# ----------------------------------------------------------------------------- registry


def test_registry_holds_every_scheme_by_name_and_count() -> None:
    assert sorted(SCHEMES, key=int) == ["5", "29", "68", "98", "106"]
    for s in ALL:
        assert get_scheme(s.name) is s and get_scheme(int(s.name)) is s and get_scheme(s) is s
        assert scheme_for_count(s.num_points) is s
        assert s.num_points == int(s.name)
    with pytest.raises(KeyError, match="unknown landmark scheme '19'"):
        get_scheme("19")


# ----------------------------------------------------------------------------- flip maps


@pytest.mark.parametrize("scheme", ALL, ids=lambda s: s.name)
def test_flip_map_is_an_involution_of_the_right_length(scheme: LandmarkScheme) -> None:
    k = scheme.num_points
    assert len(scheme.flip_index) == len(scheme.names) == len(set(scheme.names)) == k
    assert sorted(scheme.flip_index) == list(range(k))
    assert all(scheme.flip_index[scheme.flip_index[i]] == i for i in range(k))
    assert scheme.flip_index != tuple(range(k))  # something is swapped


@pytest.mark.parametrize("scheme", ALL, ids=lambda s: s.name)
def test_flipping_twice_is_the_identity(scheme: LandmarkScheme) -> None:
    pts = np.random.default_rng(0).uniform(0, 639, size=(3, scheme.num_points, 2))
    np.testing.assert_allclose(scheme.flip(scheme.flip(pts, 640), 640), pts, atol=1e-12)


def test_flip_hand_worked_on_the_wflw_pupils() -> None:
    # W = 101, so x -> 100 - x. Pupils 96 = (30, 40), 97 = (72, 42). In the mirrored image the new
    # left pupil is the old right one mirrored: (100 - 72, 42) = (28, 42); the new right pupil is
    # (100 - 30, 40) = (70, 40).
    pts = np.zeros((98, 2))
    pts[96], pts[97] = (30, 40), (72, 42)
    out = WFLW98.flip(pts, 101)
    np.testing.assert_allclose(out[96], (28, 42))
    np.testing.assert_allclose(out[97], (70, 40))


@pytest.mark.parametrize("scheme", ALL, ids=lambda s: s.name)
def test_flip_pairs_are_named_left_and_right(scheme: LandmarkScheme) -> None:
    # A point named "left" has a partner named "right" with the same stem (and vice versa); points
    # that map to themselves (the centre line) are neither. Contour and lip points carry an index,
    # not a side, in their names.
    def stem(name: str) -> str:
        return name.rsplit("_", 1)[0] if name[-1].isdigit() else name

    for i, j in enumerate(scheme.flip_index):
        a, b = scheme.names[i], scheme.names[j]
        if i == j:
            assert "left" not in a and "right" not in a, a
        elif "left" in a:
            assert "right" in b and stem(a).replace("left", "right") == stem(b), (a, b)


@NEEDS_DATA
@pytest.mark.parametrize("scheme", DENSE, ids=lambda s: s.name)
def test_left_named_points_are_on_the_viewers_left_in_real_faces(scheme: LandmarkScheme) -> None:
    # "left" is the viewer's left: in every real face each left point has a smaller x than its partner.
    for face in _real(scheme.name):
        for i, j in enumerate(scheme.flip_index):
            if "left" in scheme.names[i]:
                assert face[i, 0] < face[j, 0], (scheme.names[i], face[i], scheme.names[j], face[j])


def _mirror_cost(points: np.ndarray, flip: list[int], part: list[int]) -> float:
    """Squared residual of the mirrored, re-indexed part after the best rotation + scale + shift
    onto the original (no reflection, which would hide an upper/lower mix-up).

    The fit absorbs head roll and most of the pose, so a correct pairing leaves annotation noise.
    """
    src = np.stack([-points[:, 0], points[:, 1]], axis=1)[flip][part]
    dst = points[part]
    a, b = src - src.mean(axis=0), dst - dst.mean(axis=0)
    # Best similarity in complex form: b ~ z * a, z = <a, b> / <a, a> (least squares).
    ac, bc = a[:, 0] + 1j * a[:, 1], b[:, 0] + 1j * b[:, 1]
    z = np.vdot(ac, bc) / np.vdot(ac, ac).real
    return float(np.sum(np.abs(bc - z * ac) ** 2))


# A re-pairing must beat the scheme's pairing by more than this much squared residual, in units
# of the squared inter-ocular distance ((0.03 IOD)^2), to count: in a closed mouth the upper and
# lower inner lip (nearly) coincide, so pairing them either way fits about equally well (the
# closest call in the samples, a 300-VW frame, is 0.0004 IOD^2).
TIE = 0.03**2


def _worse_swaps(scheme_name: str, flip: tuple[int, ...], faces: list[np.ndarray]) -> list[tuple]:
    """Re-pairings of two mirror pairs within a part that fit the mirrored face better than the map
    ``flip`` does. With each pair written (point on the left, point on the right) as they lie in the
    face, pairs (l1, r1), (l2, r2) are re-paired as (l1, r2), (l2, r1): every such alternative still
    crosses the face's midline. A correct map leaves none."""
    i, j = get_scheme(scheme_name).interocular
    found = []
    for n, face in enumerate(faces):
        tie = TIE * float(np.sum((face[i] - face[j]) ** 2))
        for part in PARTS[scheme_name]:
            part = list(part)
            base = _mirror_cost(face, list(flip), part)
            pairs = [tuple(sorted((a, flip[a]), key=lambda k: face[k, 0])) for a in part if flip[a] > a]
            for (l1, r1), (l2, r2) in itertools.combinations(pairs, 2):
                alt = list(flip)
                alt[l1], alt[r2], alt[l2], alt[r1] = r2, l1, r1, l2
                if _mirror_cost(face, alt, part) < base - tie:
                    found.append((n, (l1, r1), (l2, r2)))
    return found


@NEEDS_DATA
@pytest.mark.parametrize("scheme", DENSE, ids=lambda s: s.name)
def test_flip_pairs_fit_the_mirrored_real_faces_best(scheme: LandmarkScheme) -> None:
    # On every real sample, no re-pairing of two mirror pairs within a face part gives a mirrored
    # face that fits the original better than the scheme's own pairing.
    assert _worse_swaps(scheme.name, scheme.flip_index, _real(scheme.name)) == []


def _with_pairs(scheme: LandmarkScheme, pairs: list[tuple[int, int]]) -> tuple[int, ...]:
    """``scheme.flip_index`` with the points in ``pairs`` re-paired as given."""
    flip = list(scheme.flip_index)
    for a, b in pairs:
        for x in (a, b):
            flip[flip[x]], flip[x] = flip[x], x
    for a, b in pairs:
        flip[a], flip[b] = b, a
    return tuple(flip)


@NEEDS_DATA
@pytest.mark.parametrize(
    ("scheme", "pairs"),
    [
        # WFLW lower brow edges paired in the same numbering direction (38-41 run inner -> outer,
        # 47-50 outer -> inner, so the right pairing is 38<->50 ... 41<->47).
        (WFLW98, [(38, 47), (39, 48), (40, 49), (41, 50)]),
        # 68: each upper lid paired with the other eye's lower lid (a reflection fit would hide it).
        (IBUG68, [(37, 46), (38, 47), (40, 43), (41, 44)]),
        # COFW: eye top paired with the other eye's bottom.
        (COFW29, [(12, 15), (13, 14)]),
        # JD-106: lower lids paired in the same numbering direction.
        (JD106, [(71, 80), (73, 82)]),
    ],
    ids=lambda v: getattr(v, "name", ""),
)
def test_mirror_check_catches_wrong_pairings(scheme: LandmarkScheme, pairs: list[tuple[int, int]]) -> None:
    # The check above can fail: on the same real faces, these wrong maps leave better re-pairings.
    wrong = _with_pairs(scheme, pairs)
    assert all(wrong[wrong[i]] == i for i in range(scheme.num_points)) and wrong != scheme.flip_index
    assert _worse_swaps(scheme.name, wrong, _real(scheme.name))


def _symmetrise(scheme: LandmarkScheme, face: np.ndarray, width: int) -> np.ndarray:
    """Move the face's symmetry axis (mean x of the pair midpoints) to x = (W - 1) / 2, then average
    each point with the mirror image of its partner: a mirror-symmetric face."""
    flip = list(scheme.flip_index)
    axis = float(np.mean((face[:, 0] + face[flip, 0]) / 2))
    shifted = face + np.array([(width - 1) / 2 - axis, 0.0])
    mirrored = np.stack([(width - 1) - shifted[:, 0], shifted[:, 1]], axis=1)
    return (shifted + mirrored[flip]) / 2


@NEEDS_DATA
@pytest.mark.parametrize("scheme", DENSE, ids=lambda s: s.name)
def test_symmetric_real_face_is_unchanged_by_flip(scheme: LandmarkScheme) -> None:
    for face in _real(scheme.name):
        sym = _symmetrise(scheme, face, width=1000)
        np.testing.assert_allclose(scheme.flip(sym, 1000), sym, atol=1e-9)
        # The symmetrised face is still the face (mirror noise only) and not a trivial one.
        iod = np.linalg.norm(face[scheme.interocular[0]] - face[scheme.interocular[1]])
        assert iod > 10
        assert not np.allclose(scheme.flip(sym, 1001), sym, atol=0.1)  # an off-by-one width shows


# ----------------------------------------------------------------------------- eyes and 5 points


@NEEDS_DATA
@pytest.mark.parametrize("scheme", DENSE, ids=lambda s: s.name)
def test_five_points_of_real_faces_are_plausible(scheme: LandmarkScheme) -> None:
    for face in _real(scheme.name):
        le, re, nose, ml, mr = to_five(face, scheme)
        assert le[0] < re[0] and ml[0] < mr[0]  # viewer's left first
        assert max(le[1], re[1]) < nose[1] < min(ml[1], mr[1])  # eyes above the nose above the mouth
        # Each eye centre lies inside the bounding box of its eye's contour points.
        left_eye, right_eye = EYE_POINTS[scheme.name]
        for centre, contour in ((le, face[list(left_eye)]), (re, face[list(right_eye)])):
            assert np.all(contour.min(axis=0) <= centre) and np.all(centre <= contour.max(axis=0))
        left, right = scheme.eye_centres(face)
        np.testing.assert_allclose(left, le)
        np.testing.assert_allclose(right, re)


@NEEDS_DATA
@pytest.mark.parametrize("scheme", DENSE, ids=lambda s: s.name)
def test_interocular_pair_is_the_outer_eye_corners(scheme: LandmarkScheme) -> None:
    i, j = scheme.interocular
    assert scheme.flip_index[i] == j and "left" in scheme.names[i]
    eyes = [*EYE_POINTS[scheme.name][0], *EYE_POINTS[scheme.name][1]]
    for face in _real(scheme.name):
        dist = np.linalg.norm(face[eyes][:, None] - face[eyes][None], axis=-1)
        a, b = np.unravel_index(dist.argmax(), dist.shape)
        assert {eyes[a], eyes[b]} == {i, j}


def test_to_five_hand_worked() -> None:
    # 98: the pupils, nose tip 54 and mouth corners 76 / 82 as they are.
    p98 = np.arange(196, dtype=np.float64).reshape(98, 2)  # point k = (2k, 2k + 1)
    np.testing.assert_array_equal(to_five(p98), [[192, 193], [194, 195], [108, 109], [152, 153], [164, 165]])
    # 68: eye centre = mean of points 36..41 -> x = 2 * mean(36..41) = 2 * 38.5 = 77; y = 78.
    p68 = np.arange(136, dtype=np.float64).reshape(68, 2)
    np.testing.assert_allclose(to_five(p68, "68")[0], [77, 78])
    np.testing.assert_allclose(to_five(p68, IBUG68)[1], [2 * 44.5, 2 * 44.5 + 1])  # 42..47
    # 106: pupils 104 / 105; 29: pupils 16 / 17.
    np.testing.assert_array_equal(to_five(np.arange(212.0).reshape(106, 2))[:2], [[208, 209], [210, 211]])
    np.testing.assert_array_equal(to_five(np.arange(58.0).reshape(29, 2))[:2], [[32, 33], [34, 35]])
    # Batches keep their leading dimensions.
    assert to_five(np.zeros((2, 3, 98, 2))).shape == (2, 3, 5, 2)


@NEEDS_DATA
def test_to_five_of_real_wflw_rows_gives_the_pupils() -> None:
    for row in _wflw_rows():
        five = to_five(row, "98")
        np.testing.assert_array_equal(five[0], row[96])
        np.testing.assert_array_equal(five[1], row[97])


def test_to_five_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match=r"scheme 98 expects points of shape \(\.\.\., 98, 2\), got \(68, 2\)"):
        to_five(np.zeros((68, 2)), "98")
    with pytest.raises(ValueError, match="no landmark scheme has 70 points"):
        to_five(np.zeros((70, 2)))
    with pytest.raises(ValueError, match=r"to_five expects points of shape \(\.\.\., K, 2\), got \(98, 3\)"):
        to_five(np.zeros((98, 3)))


# ----------------------------------------------------------------------------- boundaries


@pytest.mark.parametrize(
    ("scheme", "count"),
    [(IBUG68, 13), (WFLW98, 15), (JD106, 15), (COFW29, 11), (FIVE, 0)],
    ids=lambda v: str(getattr(v, "name", v)),
)
def test_boundaries_count_range_and_mirror_symmetry(scheme: LandmarkScheme, count: int) -> None:
    assert len(scheme.boundaries) == count
    assert len({b.name for b in scheme.boundaries}) == count
    edges = {}
    for b in scheme.boundaries:
        assert len(b.indices) >= 2 and all(0 <= i < scheme.num_points for i in b.indices)
        chain = list(b.indices) + ([b.indices[0]] if b.closed else [])
        edges[b.name] = {frozenset(e) for e in zip(chain[:-1], chain[1:])}
    # Mirroring maps each boundary onto a boundary (itself for the centre ones, left <-> right else).
    for name, es in edges.items():
        mirrored = {frozenset(scheme.flip_index[i] for i in e) for e in es}
        partner = name.replace("left", "#").replace("right", "left").replace("#", "right")
        assert edges[partner] == mirrored, name


@pytest.mark.parametrize("scheme", [WFLW98, JD106], ids=lambda s: s.name)
def test_every_point_but_eye_centres_lies_on_a_boundary(scheme: LandmarkScheme) -> None:
    on = {i for b in scheme.boundaries for i in b.indices}
    off = set(range(scheme.num_points)) - on
    assert off == {i for i, n in enumerate(scheme.names) if "pupil" in n or "centre" in n}


# ----------------------------------------------------------------------------- conversions


def test_wflw98_to_ibug68_hand_worked() -> None:
    pts = np.stack([np.arange(98.0), 1000 + np.arange(98.0)], axis=1)  # point k = (k, 1000 + k)
    out = wflw98_to_ibug68(pts)
    assert out.shape == (68, 2)
    np.testing.assert_array_equal(out[:, 1] - 1000, out[:, 0])
    # jaw 0..16 <- 0, 2, .., 32; brows 17..26 <- 33..37, 42..46; nose 27..35 <- 51..59;
    # eyes 36..41 <- 60 61 63 64 65 67, 42..47 <- 68 69 71 72 73 75; lips 48..67 <- 76..95.
    expected = {0: 0, 8: 16, 16: 32, 17: 33, 21: 37, 22: 42, 26: 46, 27: 51, 30: 54, 35: 59,
                36: 60, 38: 63, 39: 64, 41: 67, 42: 68, 45: 72, 47: 75, 48: 76, 54: 82, 60: 88, 64: 92, 67: 95}
    for i68, i98 in expected.items():
        assert out[i68, 0] == i98
    assert len(WFLW98_TO_IBUG68) == 68 and len(set(WFLW98_TO_IBUG68)) == 68
    assert wflw98_to_ibug68(np.zeros((2, 3, 98, 2))).shape == (2, 3, 68, 2)
    with pytest.raises(ValueError, match=r"wflw98_to_ibug68 expects points of shape \(\.\.\., 98, 2\), got \(68, 2\)"):
        wflw98_to_ibug68(np.zeros((68, 2)))


def test_wflw98_to_ibug68_commutes_with_flip_on_random_points() -> None:
    pts = np.random.default_rng(1).uniform(0, 255, size=(4, 98, 2))
    flipped_then_converted = convert(WFLW98.flip(pts, 256), "98", "68")
    np.testing.assert_array_equal(flipped_then_converted, IBUG68.flip(convert(pts, "98", "68"), 256))


@NEEDS_DATA
def test_wflw98_to_ibug68_on_real_rows() -> None:
    rows = _wflw_rows()
    for row in rows:
        p68 = convert(row, "98", "68")
        # commutes with flipping: convert(flip98(p)) == flip68(convert(p))
        np.testing.assert_array_equal(convert(WFLW98.flip(row, 1024), 98, 68), IBUG68.flip(p68, 1024))
        # same outer eye corners, so the same inter-ocular normaliser
        assert np.linalg.norm(p68[36] - p68[45]) == np.linalg.norm(row[60] - row[72])
    # The converted faces are plausible 68-point faces for the 68 flip map.
    assert _worse_swaps("68", IBUG68.flip_index, [convert(r, "98", "68") for r in rows]) == []


def test_convert_dispatch_and_errors() -> None:
    pts = np.random.default_rng(2).uniform(0, 100, size=(98, 2))
    same = convert(pts, "98", 98)
    np.testing.assert_array_equal(same, pts)
    assert same is not pts
    for s in ALL:
        p = np.random.default_rng(3).uniform(0, 100, size=(s.num_points, 2))
        np.testing.assert_array_equal(convert(p, s, "5"), s.to_five(p))
    assert convert_points is convert
    with pytest.raises(ValueError, match="no conversion from landmark scheme 106 to 68; supported: identity, 98 -> 68"):
        convert(np.zeros((106, 2)), "106", "68")
    with pytest.raises(ValueError, match="no conversion from landmark scheme 68 to 98"):
        convert(np.zeros((68, 2)), "68", "98")
    with pytest.raises(ValueError, match=r"from scheme 68 expects points of shape \(\.\.\., 68, 2\), got \(98, 2\)"):
        convert(pts, "68", "5")
    with pytest.raises(KeyError, match="unknown landmark scheme '7'"):
        convert(pts, "98", "7")


def test_can_convert_matches_convert() -> None:
    names = ["5", "29", "68", "98", "106"]
    expected = {(s, d) for s in names for d in names if s == d or d == "5"} | {("98", "68")}
    for s, d in itertools.product(names, names):
        assert can_convert(s, d) == ((s, d) in expected), (s, d)
    assert can_convert(WFLW98, IBUG68) and not can_convert("98", "19")
