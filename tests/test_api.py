"""The Aligner on real photos, with a small randomly initialised checkpoint (shapes, inputs,
batching, backends); accuracy of the shipped weights is tested in test_pretrained.py."""

from pathlib import Path

import numpy as np
import pytest

from facealign.api import Aligner
from facealign.detector import RetinaFaceDetector
from facealign.imageio import read_image
from facealign.types import FaceLandmarks

SAMPLES = Path(__file__).resolve().parents[1] / "../shared/data/samples"
FACES = Path(__file__).resolve().parents[1] / "../shared/data/faces"


@pytest.fixture(scope="module")
def photo():
    return read_image(SAMPLES / "300w/takeo.ppm")


def test_one_face_with_fixed_shapes(aligner, photo):
    faces = aligner(photo, color="rgb")
    assert len(faces) == 1
    f = faces[0]
    assert isinstance(f, FaceLandmarks)
    assert f.points.shape == (68, 2) and f.points.dtype == np.float32
    assert f.scores.shape == (68,) and (f.scores >= 0).all() and (f.scores <= 1).all()
    assert f.align_points.shape == (5, 2) and f.scheme == "68"
    assert 0.6 <= f.detector_score <= 1.0
    # the 5 alignment points are the detector's sub-pixel points for this photo
    det = RetinaFaceDetector().detect(photo)[0]
    np.testing.assert_allclose(f.align_points, det.points, atol=1e-4)
    d = f.to_dict()
    assert set(d) >= {"box", "score", "points", "scheme"} and len(d["points"]) == 68


def test_no_face_is_an_empty_list(aligner):
    assert aligner(np.full((240, 320, 3), 127, np.uint8), color="rgb") == []


def test_input_kinds_agree(aligner, photo):
    ref = aligner(photo, color="rgb")[0].points
    bgr = np.ascontiguousarray(photo[..., ::-1])
    np.testing.assert_allclose(aligner(bgr, color="bgr")[0].points, ref, atol=1e-4)
    np.testing.assert_allclose(aligner(str(SAMPLES / "300w/takeo.ppm"))[0].points, ref, atol=1e-4)
    rgba = np.concatenate([photo, np.full(photo.shape[:2] + (1,), 255, np.uint8)], axis=2)
    np.testing.assert_allclose(aligner(rgba, color="rgb")[0].points, ref, atol=1e-4)
    u16 = photo.astype(np.uint16) * 257
    np.testing.assert_allclose(aligner(u16, color="rgb")[0].points, ref, atol=1e-4)
    from PIL import Image

    np.testing.assert_allclose(aligner(Image.fromarray(photo))[0].points, ref, atol=1e-4)
    gray = aligner(photo.mean(axis=2).astype(np.uint8))
    assert len(gray) == 1 and gray[0].points.shape == (68, 2)


def test_numpy_colour_images_must_state_their_channel_order(aligner, photo):
    """A BGR array read as RGB would run and be wrong, so an array without ``color`` is refused, naming
    both orders; the old ``bgr=`` flag is refused naming its replacement; gray arrays need nothing."""
    with pytest.raises(ValueError, match=r"must state its channel order: color='rgb' .* or color='bgr'"):
        aligner(photo)
    with pytest.raises(ValueError, match=r"must state its channel order"):
        aligner.batch([photo])
    with pytest.raises(TypeError, match=r"bgr=True is no longer accepted: pass color='bgr'"):
        aligner(photo, bgr=True)
    with pytest.raises(ValueError, match=r"color must be 'rgb' or 'bgr', got 'RGB'"):
        aligner(photo, color="RGB")
    # on a colour photo the two orders give different answers (takeo.ppm is gray in three channels)
    colour = read_image(SAMPLES / "multiface/dlib_examples/2008_002470.jpg")
    swapped, straight = aligner(colour, color="bgr"), aligner(colour, color="rgb")
    assert np.abs(swapped[0].points - straight[0].points).max() > 0.01


def test_bad_inputs_say_what_was_expected(aligner):
    with pytest.raises(ValueError, match=r"expected an image of shape"):
        aligner(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(TypeError, match="expected a path, numpy array or PIL image"):
        aligner(42)
    with pytest.raises(FileNotFoundError, match="image not found"):
        aligner("/no/such/photo.jpg")
    with pytest.raises(ValueError, match=r"points5 must be \(5, 2\)"):
        aligner(np.zeros((64, 64, 3), np.uint8), color="rgb", points5=[np.zeros((4, 2))])


def test_batch_equals_single_calls(aligner, photo):
    other = read_image(SAMPLES / "multiface/dlib_examples/2008_002470.jpg")
    singles = [aligner(photo, color="rgb"), aligner(other, color="rgb")]
    batched = aligner.batch([photo, other], color="rgb")
    assert [len(b) for b in batched] == [len(s) for s in singles]
    for b, s in zip(batched, singles):
        for fb, fs in zip(b, s):
            np.testing.assert_allclose(fb.points, fs.points, atol=1e-3)


def test_user_points_and_boxes_skip_the_detector(ckpt, photo):
    a = Aligner(ckpt, detector=None, backend="torch")
    det = RetinaFaceDetector().detect(photo)[0]
    via_points = a(photo, color="rgb", points5=[det.points])
    assert len(via_points) == 1 and via_points[0].detector_score == 1.0
    via_box = a(photo, color="rgb", boxes=[det.box.as_array()])
    assert len(via_box) == 1 and via_box[0].box == det.box
    with pytest.raises(ValueError, match="no detector"):
        a(photo, color="rgb")


def test_onnx_backend_matches_torch(ckpt, aligner, photo):
    onnx = Aligner(ckpt, backend="onnx")
    np.testing.assert_allclose(onnx(photo, color="rgb")[0].points, aligner(photo, color="rgb")[0].points, atol=1e-2)
    with pytest.raises(ValueError, match="unknown backend"):
        Aligner(ckpt, backend="tvm")


def test_flip_test_keeps_shapes(ckpt, photo):
    a = Aligner(ckpt, backend="torch", flip_test=True)
    f = a(photo, color="rgb")[0]
    assert f.points.shape == (68, 2) and np.isfinite(f.points).all()


@pytest.mark.parametrize("name", ["hih_cpu_68", "scc_cpu_68", "propnet_cpu_68", "hih_wov_cpu_68", "hih_wom_cpu_68"])
def test_hih_and_regression_models_run_through_the_aligner(tmp_path, photo, name):
    """Every output kind decodes through the Aligner: an untrained HIH / SCC checkpoint gives one face of
    68 finite points on each backend, the two backends agree, and flip test keeps the shapes."""
    import torch

    from facealign.models.registry import create_model

    torch.manual_seed(0)
    net = create_model(name).eval()
    path = tmp_path / f"{name}.pt"
    torch.save({"model": net.state_dict(), "model_name": name}, path)
    five = [RetinaFaceDetector().detect(photo)[0].points]
    a = Aligner(path, detector=None)(photo, color="rgb", points5=five)[0]
    b = Aligner(path, detector=None, backend="torch")(photo, color="rgb", points5=five)[0]
    f = Aligner(path, detector=None, flip_test=True)(photo, color="rgb", points5=five)[0]
    g = Aligner(path, detector=None, flip_test=True, backend="torch")(photo, color="rgb", points5=five)[0]
    assert a.points.shape == b.points.shape == f.points.shape == (68, 2) and np.isfinite(f.points).all()
    np.testing.assert_allclose(a.points, b.points, atol=0.05)
    np.testing.assert_allclose(f.points, g.points, atol=0.05)  # flip merge + decode inside the ONNX graph


def test_bottom_up_models_get_their_own_predictor(tmp_path, photo):
    """A FoxNet checkpoint is refused by the Aligner with a pointer, and load_predictor (what
    `facealign detect --model` uses) runs it over the whole photo."""
    import torch

    from facealign.api import load_predictor
    from facealign.bottomup import FoxNetPredictor
    from facealign.models.registry import create_model

    torch.manual_seed(0)
    path = tmp_path / "fox.pt"
    torch.save({"model": create_model("foxnet_cpu_68").state_dict(), "model_name": "foxnet_cpu_68"}, path)
    with pytest.raises(ValueError, match="bottom-up multi-face model"):
        Aligner(path)
    pred = load_predictor(path)
    assert isinstance(pred, FoxNetPredictor)
    faces = pred(photo, color="rgb")
    assert isinstance(faces, list) and all(isinstance(f, FaceLandmarks) and f.points.shape == (68, 2) for f in faces)
    assert isinstance(load_predictor("facealign_mnv2_050_68", detector=None), Aligner)


def test_flip_test_is_fixed_at_construction(ckpt):
    """The flag is part of the landmark graph, so it cannot be switched on a built Aligner."""
    a = Aligner(ckpt, detector=None, backend="torch", flip_test=True)
    assert a.flip_test is True
    with pytest.raises(AttributeError):
        a.flip_test = False


def test_a_checkpoint_is_read_and_its_network_built_once(ckpt, photo, monkeypatch):
    """load_predictor and Aligner on a .pt read the file once and build the network once (the card comes
    from the built network, the Aligner takes the opened stage); the points equal a plain Aligner's."""
    from facealign.api import OpenedStage, load_predictor, open_stage
    from facealign.models import registry

    calls = {"load": 0, "build": 0}
    real_load, (real_build, card) = registry.load_checkpoint, registry._REGISTRY["facealign_mnv2_050_68"]

    def counting_load(path):
        calls["load"] += 1
        return real_load(path)

    def counting_build(**kwargs):
        calls["build"] += 1
        return real_build(**kwargs)

    monkeypatch.setattr(registry, "load_checkpoint", counting_load)
    monkeypatch.setitem(registry._REGISTRY, "facealign_mnv2_050_68", (counting_build, card))
    predictor = load_predictor(ckpt, backend="torch", detector=None)
    assert isinstance(predictor, Aligner) and calls == {"load": 1, "build": 1}
    assert predictor.card == registry.get_model_card("facealign_mnv2_050_68", width=0.25, input_size=64, filters=16)
    calls.update(load=0, build=0)
    stage = open_stage(ckpt, backend="torch", flip_test=True)
    assert isinstance(stage, OpenedStage) and stage.flip_test and calls == {"load": 1, "build": 1}
    on_stage = Aligner(stage, detector=None)
    assert calls == {"load": 1, "build": 1} and on_stage.flip_test and on_stage.card is stage.card
    five = [RetinaFaceDetector().detect(photo)[0].points]
    direct = Aligner(ckpt, backend="torch", flip_test=True, detector=None)
    np.testing.assert_allclose(on_stage(photo, color="rgb", points5=five)[0].points, direct(photo, color="rgb", points5=five)[0].points, atol=1e-4)
    with pytest.raises(ValueError, match=r"opened with flip_test=True, but flip_test=False was asked for"):
        Aligner(stage, flip_test=False)


def test_a_label_offset_moves_every_point_by_exactly_that_much_and_nothing_else(photo):
    det = RetinaFaceDetector().detect(photo)[0]
    plain = Aligner("facealign_mnv2_050_68", detector=None)(photo, color="rgb", points5=[det.points])[0]
    moved = Aligner("facealign_mnv2_050_68", detector=None, label_offset=(1.0, -0.5))(photo, color="rgb", points5=[det.points])[0]
    np.testing.assert_allclose(moved.points - plain.points, np.tile([1.0, -0.5], (68, 1)), atol=1e-4)
    np.testing.assert_array_equal(moved.scores, plain.scores)
    np.testing.assert_array_equal(moved.align_points, plain.align_points)  # the crop is the same crop
    for bad in ((1.0,), (1.0, float("nan")), "ab"):
        with pytest.raises(ValueError, match=r"label_offset must be \(dx, dy\), two finite pixel offsets, got"):
            Aligner("facealign_mnv2_050_68", detector=None, label_offset=bad)


def test_flip_test_turned_mirrors_only_the_faces_turned_beyond_40_degrees(photo, ckpt):
    """The default of a registered model and of a checkpoint: a frontal face takes the plain graph, a turned one
    (a CFP profile) the flip-test graph, in single calls and in one batch of both; a graph file stays plain."""
    from facealign.api import TURNED, flip_mode, turned_faces
    from facealign.card import weights_path

    profile = read_image(FACES / "../cfp_profile/001/01.jpg")
    det = RetinaFaceDetector()
    front5, side5 = det.detect(photo)[0].points, det.detect(profile)[0].points
    assert turned_faces(np.stack([front5, side5])).tolist() == [False, True]
    default, plain, flip = Aligner(), Aligner(flip_test=False), Aligner(flip_test=True)
    assert default.flip_test == TURNED and plain.flip_test is False
    for image, five, same, other in ((photo, front5, plain, flip), (profile, side5, flip, plain)):
        got = default(image, color="rgb", points5=[five])[0].points
        np.testing.assert_array_equal(got, same(image, color="rgb", points5=[five])[0].points)
        assert np.abs(got - other(image, color="rgb", points5=[five])[0].points).max() > 0.01
    batch = default.batch([photo, profile], color="rgb")
    assert [len(b) for b in batch] == [1, 1]
    np.testing.assert_allclose(batch[0][0].points, plain(photo, color="rgb")[0].points, atol=1e-3)
    np.testing.assert_allclose(batch[1][0].points, flip(profile, color="rgb")[0].points, atol=1e-3)
    # a checkpoint on PyTorch: the same two stages on one network
    tiny = Aligner(ckpt, backend="torch", detector=None)
    assert tiny.flip_test == TURNED
    np.testing.assert_allclose(
        tiny(profile, color="rgb", points5=[side5])[0].points,
        Aligner(ckpt, backend="torch", detector=None, flip_test=True)(profile, color="rgb", points5=[side5])[0].points, atol=1e-5,
    )
    # one graph file holds one stage: it runs as exported by default, and "turned" is refused with what to do
    graph, flip_graph = weights_path("facealign_mnv2_050_68.onnx"), weights_path("facealign_mnv2_050_68_flip.onnx")
    assert Aligner(graph, detector=None).flip_test is False and Aligner(flip_graph, detector=None).flip_test is True
    with pytest.raises(ValueError, match=r"flip_test='turned' runs two landmark graphs, without and with flip test; .*facealign_mnv2_050_68.onnx is one graph file"):
        Aligner(graph, detector=None, flip_test=TURNED)
    with pytest.raises(ValueError, match=r"flip_test must be False, True or 'turned' \(the turned faces only\), got 'sometimes'"):
        flip_mode("sometimes")
    assert (flip_mode(1), flip_mode(0), flip_mode(None, "x.onnx"), flip_mode(None, "x.pt")) == (True, False, None, TURNED)
    # a stage put together by hand must bring the flip-test graph's runner along
    from facealign.api import OpenedStage

    with pytest.raises(ValueError, match="has flip_test='turned' but no turned_runner"):
        Aligner(OpenedStage(default.card, default.runner, TURNED), detector=None)


def test_the_flip_test_graph_of_turned_faces_opens_with_the_first_turned_face(photo, monkeypatch):
    """Start-up pays for one graph; the second (flip-test) graph is opened once, when a turned face first comes."""
    import facealign.api as api

    opened = []
    real = api.read_graph
    monkeypatch.setattr(api, "read_graph", lambda path, **kw: (opened.append(Path(path).name), real(path, **kw))[1])
    aligner = Aligner(detector=None)
    det = RetinaFaceDetector()
    front5 = det.detect(photo)[0].points
    aligner(photo, color="rgb", points5=[front5])
    assert opened == ["facealign_mnv2_050_68.onnx"]
    profile = read_image(FACES / "../cfp_profile/001/01.jpg")
    side5 = det.detect(profile)[0].points
    for _ in range(2):
        aligner(profile, color="rgb", points5=[side5])
    assert opened == ["facealign_mnv2_050_68.onnx", "facealign_mnv2_050_68_flip.onnx"]


def test_a_registered_model_without_its_flip_graph_builds_it_in_torch_for_turned_faces(monkeypatch):
    """flip_test="turned" on a registered model whose flip-test graph is not installed: the plain graph runs, and the
    flip-test stage is built from the shipped weights (PyTorch, exported in memory) when the first turned face comes."""
    import facealign.api as api

    real = api.shipped_graph
    monkeypatch.setattr(api, "shipped_graph", lambda model, flip_test=False: None if flip_test else real(model))
    profile = read_image(FACES / "../cfp_profile/001/01.jpg")
    side5 = RetinaFaceDetector().detect(profile)[0].points
    got = Aligner(detector=None)(profile, color="rgb", points5=[side5])[0].points
    monkeypatch.setattr(api, "shipped_graph", real)
    want = Aligner(detector=None, flip_test=True)(profile, color="rgb", points5=[side5])[0].points
    np.testing.assert_allclose(got, want, atol=1e-3)
