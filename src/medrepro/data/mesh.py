"""Surface meshes: binary STL files, voxel grid ⇄ triangle mesh ⇄ point cloud.

MedShapeNet distributes its shapes as STL meshes. No STL library is a dependency here, so binary STL is read
and written with numpy, after the format's specification: an 80-byte header, a little-endian ``uint32``
triangle count, then per triangle 50 bytes — the facet normal (3 ``float32``), three vertices (9 ``float32``)
and a ``uint16`` attribute byte count (0). ASCII STL (``solid ...`` text) is read as well.

- :func:`mask_to_mesh` — marching cubes (scikit-image) on a binary mask, vertices in millimetres;
- :func:`voxelize` — the inverse: which voxel centres lie inside a closed mesh (ray parity along axis 0);
- :func:`sample_surface` — a point cloud drawn uniformly (by area) from a mesh's triangles.
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Sequence

import numpy as np

STL_DTYPE = np.dtype([("normal", "<f4", (3,)), ("vertices", "<f4", (3, 3)), ("attr", "<u2")])
assert STL_DTYPE.itemsize == 50


class StlError(ValueError):
    """An STL file that cannot be read as what it claims to be."""


def facet_normals(triangles: np.ndarray) -> np.ndarray:
    """Unit normals (right-hand rule over the vertex order) of (T, 3, 3) triangles; zero for degenerate ones."""
    t = np.asarray(triangles, float)
    n = np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])
    norm = np.linalg.norm(n, axis=1, keepdims=True)
    return np.divide(n, norm, out=np.zeros_like(n), where=norm > 0)


def write_stl(path: str | Path, triangles: np.ndarray, header: str = "medrepro binary STL") -> Path:
    """Write (T, 3, 3) triangles (vertex coordinates, e.g. mm) as a binary STL file; returns the path."""
    tri = np.asarray(triangles)
    if tri.ndim != 3 or tri.shape[1:] != (3, 3):
        raise ValueError(f"triangles must have shape (T, 3, 3), got {tri.shape}")
    head = header.encode("ascii", "replace")[:80]
    if head.lstrip().lower().startswith(b"solid"):
        raise ValueError("a binary STL header must not start with 'solid' (readers would take it for ASCII STL)")
    rec = np.zeros(len(tri), STL_DTYPE)
    rec["vertices"] = tri.astype("<f4")
    rec["normal"] = facet_normals(rec["vertices"].astype(float)).astype("<f4")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(head.ljust(80, b"\0"))
        fh.write(struct.pack("<I", len(tri)))
        fh.write(rec.tobytes())
    return path


def _read_ascii(path: Path, data: bytes) -> np.ndarray:
    verts = []
    for line in data.decode("ascii", "replace").splitlines():
        parts = line.split()
        if parts and parts[0] == "vertex":
            if len(parts) != 4:
                raise StlError(f"{path}: malformed ASCII STL vertex line {line.strip()!r}")
            verts.append([float(v) for v in parts[1:]])
    if len(verts) % 3:
        raise StlError(f"{path}: ASCII STL holds {len(verts)} vertices, not a multiple of 3")
    return np.asarray(verts, np.float32).reshape(-1, 3, 3)


def read_stl(path: str | Path) -> np.ndarray:
    """Read an STL file (binary or ASCII) as (T, 3, 3) float32 triangles.

    Raises :class:`FileNotFoundError` for a missing file and :class:`StlError` naming the file for a header
    whose triangle count disagrees with the file size, or a truncated or empty file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"STL file not found: {path}")
    data = path.read_bytes()
    if len(data) < 84:
        if data.lstrip().lower().startswith(b"solid"):
            return _read_ascii(path, data)
        raise StlError(f"{path}: {len(data)} bytes is shorter than a binary STL header (84 bytes)")
    (n,) = struct.unpack("<I", data[80:84])
    if len(data) == 84 + 50 * n:
        rec = np.frombuffer(data, STL_DTYPE, count=n, offset=84)
        return rec["vertices"].copy()
    if data.lstrip().lower().startswith(b"solid") and b"facet" in data[:1000]:
        return _read_ascii(path, data)
    raise StlError(f"{path}: binary STL header declares {n} triangles ({84 + 50 * n} bytes), the file has "
                   f"{len(data)} bytes")


def mask_to_mesh(mask: np.ndarray, spacing: float | Sequence[float] = 1.0,
                 origin: Sequence[float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """Triangles (T, 3, 3) of the surface of a binary 3-D mask, by marching cubes at level 0.5.

    The mask is padded by one background voxel so that the surface is closed; vertex ``v`` (voxel indices)
    maps to ``origin + v * spacing`` (mm). Triangles face outwards (scikit-image's ``gradient_direction="ascent"``
    orders them for a field that rises inwards; the order is reversed so that normals point out).
    """
    from skimage.measure import marching_cubes

    m = np.asarray(mask, bool)
    if m.ndim != 3:
        raise ValueError(f"mask must be 3-D, got shape {m.shape}")
    if not m.any():
        return np.zeros((0, 3, 3), np.float32)
    padded = np.pad(m, 1).astype(np.float32)
    verts, faces, _, _ = marching_cubes(padded, level=0.5, method="lewiner")
    verts = (verts - 1.0) * np.broadcast_to(np.asarray(spacing, float), 3) + np.asarray(origin, float)
    return verts[faces[:, ::-1]].astype(np.float32)


def voxelize(triangles: np.ndarray, shape: Sequence[int], spacing: float | Sequence[float] = 1.0,
             origin: Sequence[float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """Boolean grid of ``shape``: voxel ``(i, j, k)`` (centre ``origin + (i, j, k) * spacing``) is inside the mesh.

    Ray parity: from each (j, k) a ray runs along axis 0; a voxel is inside when an odd number of triangles cross
    the ray before its centre. The rays are offset by a tiny irrational fraction of a voxel in axes 1 and 2, so
    that they never pass exactly through a vertex or an edge of a marching-cubes mesh (whose vertices lie on
    voxel-grid lines). Needs a closed (watertight) mesh; an open one leaks along the rays through its holes.
    Vectorised over triangles; memory grows with the number of (triangle, ray) pairs.
    """
    shape = tuple(int(s) for s in shape)
    sp = np.broadcast_to(np.asarray(spacing, float), 3)
    t = (np.asarray(triangles, float) - np.asarray(origin, float)) / sp       # voxel-index coordinates
    out = np.zeros(shape, bool)
    if len(t) == 0:
        return out
    ey, ez = 1.1e-3 * np.sqrt(2), 0.7e-3 * np.sqrt(3)
    y, z = t[:, :, 1] - ey, t[:, :, 2] - ez                                     # rays sit at integer (y, z) now
    j0 = np.clip(np.ceil(y.min(1)), 0, shape[1]).astype(int)
    j1 = np.clip(np.floor(y.max(1)), -1, shape[1] - 1).astype(int)
    k0 = np.clip(np.ceil(z.min(1)), 0, shape[2]).astype(int)
    k1 = np.clip(np.floor(z.max(1)), -1, shape[2] - 1).astype(int)
    ny, nz = np.maximum(j1 - j0 + 1, 0), np.maximum(k1 - k0 + 1, 0)
    cnt = ny * nz
    tri = np.repeat(np.arange(len(t)), cnt)                                     # one row per (triangle, ray)
    if len(tri) == 0:
        return out
    local = np.arange(len(tri)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    jj = j0[tri] + local // nz[tri]
    kk = k0[tri] + local % nz[tri]
    # barycentric coordinates of the ray point (jj, kk) in the triangle projected onto the (y, z) plane
    ya, yb, yc = y[tri, 0], y[tri, 1], y[tri, 2]
    za, zb, zc = z[tri, 0], z[tri, 1], z[tri, 2]
    det = (yb - ya) * (zc - za) - (yc - ya) * (zb - za)
    ok = det != 0
    safe = np.where(ok, det, 1.0)
    u = ((jj - ya) * (zc - za) - (yc - ya) * (kk - za)) / safe
    v = ((yb - ya) * (kk - za) - (jj - ya) * (zb - za)) / safe
    hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1)
    x = t[tri, 0, 0] + u * (t[tri, 1, 0] - t[tri, 0, 0]) + v * (t[tri, 2, 0] - t[tri, 0, 0])
    jj, kk, x = jj[hit], kk[hit], x[hit]
    first = np.clip(np.floor(x).astype(int) + 1, 0, shape[0])                   # voxels i > x see this crossing
    counts = np.zeros((shape[0] + 1, shape[1], shape[2]), np.int32)
    np.add.at(counts, (first, jj, kk), 1)
    return (np.cumsum(counts, axis=0)[: shape[0]] % 2) == 1


def triangle_areas(triangles: np.ndarray) -> np.ndarray:
    """Area of each of (T, 3, 3) triangles."""
    t = np.asarray(triangles, float)
    return 0.5 * np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1)


def sample_surface(triangles: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` points drawn uniformly by area from the mesh surface (triangles chosen ∝ area, then uniform
    barycentric coordinates by the square-root rule)."""
    t = np.asarray(triangles, float)
    if len(t) == 0:
        raise ValueError("cannot sample points from an empty mesh")
    rng = np.random.default_rng(seed)
    a = triangle_areas(t)
    idx = rng.choice(len(t), size=n, p=a / a.sum())
    r1, r2 = np.sqrt(rng.random(n)), rng.random(n)
    w = np.stack([1 - r1, r1 * (1 - r2), r1 * r2], 1)
    return np.einsum("nk,nkd->nd", w, t[idx])


def surface_area(triangles: np.ndarray) -> float:
    """Total area of the mesh."""
    return float(triangle_areas(triangles).sum())


def enclosed_volume(triangles: np.ndarray) -> float:
    """Volume enclosed by a closed, outward-oriented mesh (divergence theorem: sum of signed tetrahedra)."""
    t = np.asarray(triangles, float)
    return float(np.einsum("ti,ti->t", t[:, 0], np.cross(t[:, 1], t[:, 2])).sum() / 6.0)
