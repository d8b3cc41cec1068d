"""MedShapeNet skull shapes (SkullBreak source): STL meshes of complete skulls, defective skulls and implants.

MedShapeNet distributes every shape as an STL surface mesh; its skull-reconstruction use case builds on the
SkullBreak data set (Kodym, Li et al., Data in Brief 2021), whose training part holds complete skulls, each with
five defective versions and the matching implants. This loader reads that material as meshes in SkullBreak's
folder organisation (see ``data_manifests/medshapenet.yaml``; the exact folder and file names of a MedShapeNet
download are not confirmed):

```
<root>/complete_skull/<case>.stl
<root>/defective_skull/<defect type>/<case>.stl
<root>/implant/<defect type>/<case>.stl
```

and turns each triplet into voxel grids on one common grid per case (:func:`load_case`): the grid is placed on the
complete skull's bounding box (:func:`grid_for`), and the defective skull and implant use the same grid, so the
three stay aligned. ``make_fixture`` writes a miniature of the layout from simulated skulls
(:mod:`medrepro.sim.skulls`) as binary STL.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .. import mesh
from . import mark_fixture

COMPLETE, DEFECTIVE, IMPLANT = "complete_skull", "defective_skull", "implant"
# SkullBreak's defect types (Data in Brief 2021); the simulator uses the first two names for its midline-crossing
# and one-sided defects.
DEFECT_TYPES = ("bilateral", "parietotemporal", "frontoorbital", "random_1", "random_2")
SIM_TYPE_NAMES = {"midline": "bilateral", "unilateral": "parietotemporal"}


class MedShapeNetLayoutError(FileNotFoundError):
    """The folder does not hold the expected complete_skull/ defective_skull/ implant/ layout."""


@dataclass
class Grid:
    """A cubic voxel grid in mesh coordinates: voxel ``i`` has centre ``origin + i * spacing``."""

    size: int
    spacing: float
    origin: np.ndarray


@dataclass
class SkullCase:
    """One case and defect type on one grid: complete skull, defective skull, implant (bool arrays)."""

    case: str
    defect: str
    complete: np.ndarray
    defective: np.ndarray
    implant: np.ndarray | None
    grid: Grid


def _check_root(root: Path) -> Path:
    root = Path(root)
    if not (root / COMPLETE).is_dir():
        raise MedShapeNetLayoutError(f"{root}: no {COMPLETE}/ folder; expected {COMPLETE}/<case>.stl, "
                                     f"{DEFECTIVE}/<type>/<case>.stl and {IMPLANT}/<type>/<case>.stl")
    return root


def case_ids(root: str | Path) -> list[str]:
    """Sorted case ids (file stems) under ``complete_skull/``."""
    root = _check_root(Path(root))
    ids = sorted(p.stem for p in (root / COMPLETE).glob("*.stl"))
    if not ids:
        raise MedShapeNetLayoutError(f"{root / COMPLETE}: no .stl files")
    return ids


def defect_types(root: str | Path) -> list[str]:
    """Defect types present under ``defective_skull/`` (SkullBreak's order first)."""
    root = _check_root(Path(root))
    found = [p.name for p in sorted((root / DEFECTIVE).glob("*")) if p.is_dir()]
    return [t for t in DEFECT_TYPES if t in found] + [t for t in found if t not in DEFECT_TYPES]


def cases_with(root: str | Path, defect: str) -> list[str]:
    """Case ids that have a defective skull of type ``defect``."""
    root = _check_root(Path(root))
    return sorted(p.stem for p in (root / DEFECTIVE / defect).glob("*.stl"))


def grid_for(triangles: np.ndarray, size: int, spacing: float | None = None, margin: float = 0.1) -> Grid:
    """The grid a case is voxelised on, from its complete skull's mesh.

    ``spacing`` (mesh units per voxel, e.g. mm): given, or the bounding box's longest side × (1 + ``margin``) /
    ``size``. The grid's centre goes to the bounding-box centre ``m`` (in voxel units), rounded to the lattice
    ``k · spacing``: ``origin = spacing · floor(m − (size − 1)/2 + 0.5)``, so that a mesh made from a voxel
    mask with the same spacing is voxelised back onto that mask's own lattice.
    """
    t = np.asarray(triangles, float).reshape(-1, 3)
    if len(t) == 0:
        raise ValueError("cannot place a grid on an empty mesh")
    lo, hi = t.min(0), t.max(0)
    if spacing is None:
        spacing = float((hi - lo).max() * (1 + margin) / size)
    m = (lo + hi) / 2 / spacing
    return Grid(size, float(spacing), np.floor(m - (size - 1) / 2 + 0.5) * spacing)


def load_mesh(path: str | Path) -> np.ndarray:
    """Triangles of one STL file (see :func:`medrepro.data.mesh.read_stl`)."""
    return mesh.read_stl(path)


def _voxel(tri: np.ndarray, g: Grid) -> np.ndarray:
    return mesh.voxelize(tri, (g.size,) * 3, g.spacing, g.origin)


def load_case(root: str | Path, case: str, defect: str, size: int = 24, spacing: float | None = None,
              implant: bool = True) -> SkullCase:
    """Complete skull, defective skull (type ``defect``) and implant of ``case``, voxelised on one grid.

    Raises :class:`FileNotFoundError` naming the missing file.
    """
    root = _check_root(Path(root))
    comp = load_mesh(root / COMPLETE / f"{case}.stl")
    g = grid_for(comp, size, spacing)
    defective = _voxel(load_mesh(root / DEFECTIVE / defect / f"{case}.stl"), g)
    imp = None
    if implant and (root / IMPLANT / defect / f"{case}.stl").is_file():
        imp = _voxel(load_mesh(root / IMPLANT / defect / f"{case}.stl"), g)
    return SkullCase(case, defect, _voxel(comp, g), defective, imp, g)


def load_complete(root: str | Path, case: str, size: int = 24, spacing: float | None = None) -> np.ndarray:
    """The complete skull of ``case`` alone, on its grid."""
    comp = load_mesh(_check_root(Path(root)) / COMPLETE / f"{case}.stl")
    return _voxel(comp, grid_for(comp, size, spacing))


def write_case(root: str | Path, case: str, complete: np.ndarray, spacing: float,
               defects: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> None:
    """Write one case as binary STL meshes (marching cubes, vertices in mm = voxel index × ``spacing``):
    the complete skull and, per defect type, ``(defective, implant)``."""
    root = Path(root)
    mesh.write_stl(root / COMPLETE / f"{case}.stl", mesh.mask_to_mesh(complete, spacing))
    for kind, (defective, implant) in (defects or {}).items():
        mesh.write_stl(root / DEFECTIVE / kind / f"{case}.stl", mesh.mask_to_mesh(defective, spacing))
        mesh.write_stl(root / IMPLANT / kind / f"{case}.stl", mesh.mask_to_mesh(implant, spacing))


def write_simulated(root: str | Path, cohort: Sequence[dict], spacing: float, with_defects: Sequence[bool] | None = None,
                    start: int = 0) -> list[str]:
    """Write a :func:`medrepro.sim.skulls.simulate_cohort` cohort in the layout; returns the case ids.
    Defect kinds are written under SkullBreak's names (``SIM_TYPE_NAMES``); ``with_defects[i]`` False writes the
    complete skull of subject ``i`` only."""
    ids = []
    for i, subj in enumerate(cohort):
        case = f"{start + i:03d}"
        keep = True if with_defects is None else with_defects[i]
        defects = {SIM_TYPE_NAMES.get(k, k): (d["defective"], d["implant"]) for k, d in subj["defects"].items()} if keep else None
        write_case(root, case, subj["complete"], spacing, defects)
        ids.append(case)
    return ids


def make_fixture(root: str | Path, seed: int = 0, n_cases: int = 8, size: int = 24, spacing: float = 8.0) -> Path:
    """A miniature of the layout: ``n_cases`` simulated skulls, each with a ``bilateral`` (midline-crossing) and a
    ``parietotemporal`` (one-sided) defect and their implants, as binary STL files; returns the root."""
    from ...sim.skulls import SkullSpec, simulate_cohort

    root = Path(root)
    cohort = simulate_cohort(n_cases, SkullSpec(size=size), seed=seed)
    write_simulated(root, cohort, spacing)
    mark_fixture(root, "medshapenet")
    return root
