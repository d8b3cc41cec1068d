"""STL meshes, voxel ⇄ mesh ⇄ points, Chamfer distance, the skull simulator and the MedShapeNet loader."""
from __future__ import annotations

import struct

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial import cKDTree

from medrepro.data import mesh
from medrepro.data.datasets import medshapenet as msn
from medrepro.metrics.shape import chamfer_distance, nearest_distances
from medrepro.sim import skulls


def _blob(seed: int, shape=(20, 22, 18)) -> np.ndarray:
    m = ndimage.gaussian_filter(np.random.default_rng(seed).random(shape), 2) > 0.5
    m[[0, -1]] = False
    return m


def test_binary_stl_byte_layout_by_hand(tmp_path):
    tri = np.array([[[0, 0, 0], [1, 0, 0], [0, 1, 0]]], np.float32)
    p = mesh.write_stl(tmp_path / "t.stl", tri, header="hand check")
    data = p.read_bytes()
    # the specification: 80-byte header, uint32 count, then normal, 3 vertices (12 float32 LE) and a uint16
    expected = (b"hand check".ljust(80, b"\0") + struct.pack("<I", 1)
                + struct.pack("<12f", 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0) + struct.pack("<H", 0))
    assert data == expected
    np.testing.assert_array_equal(mesh.read_stl(p), tri)


def test_ascii_stl_is_read(tmp_path):
    p = tmp_path / "a.stl"
    p.write_text("solid x\n facet normal 0 0 1\n  outer loop\n   vertex 0 0 0\n   vertex 1 0 0\n   vertex 0 1 0\n"
                 "  endloop\n endfacet\nendsolid x\n")
    np.testing.assert_array_equal(mesh.read_stl(p), [[[0, 0, 0], [1, 0, 0], [0, 1, 0]]])


def test_bad_stl_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.stl"):
        mesh.read_stl(tmp_path / "nothere.stl")
    p = mesh.write_stl(tmp_path / "cut.stl", np.zeros((3, 3, 3), np.float32))
    p.write_bytes(p.read_bytes()[:-10])
    with pytest.raises(mesh.StlError, match="cut.stl.*declares 3 triangles"):
        mesh.read_stl(p)
    (tmp_path / "tiny.stl").write_bytes(b"xx")
    with pytest.raises(mesh.StlError, match="tiny.stl"):
        mesh.read_stl(tmp_path / "tiny.stl")
    with pytest.raises(ValueError, match="solid"):
        mesh.write_stl(tmp_path / "s.stl", np.zeros((1, 3, 3)), header="solid oops")


@pytest.mark.parametrize("seed", range(3))
def test_stl_reads_back_skimage_marching_cubes_mesh(tmp_path, seed):
    from skimage.measure import marching_cubes

    m = _blob(seed)
    verts, faces, _, _ = marching_cubes(np.pad(m, 1).astype(np.float32), 0.5, method="lewiner")
    ref = ((verts - 1) * 2.0 + np.array([1.0, 2.0, 3.0]))[faces[:, ::-1]].astype(np.float32)
    tri = mesh.mask_to_mesh(m, 2.0, (1.0, 2.0, 3.0))
    np.testing.assert_array_equal(tri, ref)
    np.testing.assert_array_equal(mesh.read_stl(mesh.write_stl(tmp_path / "m.stl", tri)), ref)


@pytest.mark.parametrize("seed", range(4))
def test_voxelize_inverts_marching_cubes_exactly(seed):
    m = _blob(seed)
    tri = mesh.mask_to_mesh(m, 3.0, (-5.0, 0.0, 7.0))
    np.testing.assert_array_equal(mesh.voxelize(tri, m.shape, 3.0, (-5.0, 0.0, 7.0)), m)
    assert mesh.enclosed_volume(tri) > 0                                   # outward normals
    assert abs(mesh.enclosed_volume(tri) / 27 - m.sum()) / m.sum() < 0.05   # corners cut by marching cubes


def test_voxelize_a_cube_mesh_and_sampling():
    cube = np.zeros((8, 8, 8), bool)
    cube[2:6, 2:6, 2:6] = True
    tri = mesh.mask_to_mesh(cube)
    np.testing.assert_array_equal(mesh.voxelize(tri, cube.shape), cube)
    pts = mesh.sample_surface(tri, 500, seed=0)
    assert pts.min() >= 1.5 - 1e-9 and pts.max() <= 5.5 + 1e-9


def test_chamfer_matches_scipy_ckdtree():
    rng = np.random.default_rng(0)
    for n, k in ((50, 70), (400, 30), (1, 5)):
        a, b = rng.normal(size=(n, 3)), rng.normal(size=(k, 3)) + 0.3
        ref = cKDTree(b).query(a)[0].mean() + cKDTree(a).query(b)[0].mean()
        assert abs(chamfer_distance(a, b) - ref) < 1e-10
    x = rng.normal(size=(20, 3))
    assert chamfer_distance(x, x) == 0.0
    with pytest.raises(ValueError):
        nearest_distances(np.zeros((0, 3)), x)
    with pytest.raises(ValueError):
        nearest_distances(np.zeros((3, 2)), x)


def test_skull_simulator_symmetry_and_defects():
    cohort = skulls.simulate_cohort(6, skulls.SkullSpec(size=24), seed=3)
    again = skulls.simulate_cohort(6, skulls.SkullSpec(size=24), seed=3)
    mid = (24 - 1) / 2
    for s, t in zip(cohort, again):
        np.testing.assert_array_equal(s["complete"], t["complete"])
        assert 0.9 < skulls.symmetry_dice(s["complete"]) < 1.0          # nearly, not exactly, symmetric
        assert np.array_equal(skulls.grid_shift(s["complete"]), [0, 0, 0])
        uni, midl = s["defects"]["unilateral"], s["defects"]["midline"]
        for d in (uni, midl):
            assert d["implant"].sum() > 20
            np.testing.assert_array_equal(d["defective"] | d["implant"], s["complete"])
            assert not (d["defective"] & d["implant"]).any()
        x = np.nonzero(uni["implant"])[0]
        assert (x > mid).all() or (x < mid).all()                         # one side only
        x = np.nonzero(midl["implant"])[0]
        assert (x > mid).any() and (x < mid).any()                        # crosses the midline
    with pytest.raises(ValueError, match="defect kind"):
        skulls.defect_direction(np.random.default_rng(0), "both", 0.5)


def test_loader_reads_fixture_as_simulated(tmp_path):
    root = msn.make_fixture(tmp_path / "msn", seed=1, n_cases=2)
    cohort = skulls.simulate_cohort(2, skulls.SkullSpec(size=24), seed=1)
    assert msn.case_ids(root) == ["000", "001"]
    assert msn.defect_types(root) == ["bilateral", "parietotemporal"]
    for i, case in enumerate(msn.case_ids(root)):
        for kind, name in msn.SIM_TYPE_NAMES.items():
            c = msn.load_case(root, case, name, size=24, spacing=8.0)
            np.testing.assert_array_equal(c.complete, cohort[i]["complete"])
            np.testing.assert_array_equal(c.defective, cohort[i]["defects"][kind]["defective"])
            np.testing.assert_array_equal(c.implant, cohort[i]["defects"][kind]["implant"])
    auto = msn.load_case(root, "000", "bilateral", size=32)                  # spacing from the bounding box
    assert auto.complete.shape == (32,) * 3 and auto.complete.any()
    assert not (auto.complete[0].any() or auto.complete[-1].any())


def test_loader_errors_name_what_is_missing(tmp_path):
    with pytest.raises(msn.MedShapeNetLayoutError, match="complete_skull"):
        msn.case_ids(tmp_path)
    root = msn.make_fixture(tmp_path / "msn", n_cases=1)
    with pytest.raises(FileNotFoundError, match="random_1"):
        msn.load_case(root, "000", "random_1")
    (root / "complete_skull" / "000.stl").write_bytes(b"\0" * 90)
    with pytest.raises(mesh.StlError, match="000.stl"):
        msn.load_complete(root, "000")
