"""Dataset manifests: what a dataset is, where it comes from, how to check it, who may use it.

One YAML file per dataset in ``data_manifests/``::

    id: ptbxl
    title: PTB-XL, a large publicly available electrocardiography dataset
    version: "1.0.3"
    access: open            # open | manual | registration | credentialed | private
    licence: CC BY 4.0
    citation: "Wagner P, et al. ... Scientific Data 7, 154 (2020)."
    homepage: https://physionet.org/content/ptb-xl/1.0.3/
    files:                  # what full mode downloads (open data only)
      - url: https://.../ptb-xl-....zip
        sha256: <64 hex>    # or null with `sha256_note` saying why
        size: 1842000000    # bytes, or null
        extract: zip        # zip | tar | none
    root: ptb-xl-...-1.0.3  # folder (inside the extracted archive) that holds the layout below
    layout:                 # paths, relative to the root, that must exist: the loader's contract
      - ptbxl_database.csv
      - scp_statements.csv
      - records500/
    manual_steps:           # gated data: what a person must do, in order
      - ...

``locate(id, data_dir)`` returns the dataset root: the given folder if its layout is complete,
otherwise the cache after a verified download (open data) — or, for gated data, it prints the manual
steps and the expected layout and raises :class:`DataAccessError`.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..paths import data_cache, manifests_dir

#: open: downloaded and verified automatically; manual: an open licence, but fetched by hand (no stable direct
#: URL or published checksum); registration / credentialed / private: gated.
ACCESS_LEVELS = ("open", "manual", "registration", "credentialed", "private")
_REQUIRED = ("id", "title", "access", "licence", "citation", "homepage", "layout")


class ManifestError(ValueError):
    """A manifest file is missing a field or has a wrong value."""


class DataAccessError(RuntimeError):
    """The data cannot be fetched automatically; the message says what to do."""


class ChecksumError(RuntimeError):
    """A downloaded file does not have the expected sha256."""


class UnsafeArchiveError(RuntimeError):
    """An archive member would be written outside the target folder."""


class LayoutError(FileNotFoundError):
    """A dataset folder lacks files its loader needs."""


@dataclass
class RemoteFile:
    url: str
    sha256: str | None
    size: int | None = None
    extract: str = "none"
    name: str | None = None

    @property
    def filename(self) -> str:
        return self.name or self.url.rstrip("/").split("/")[-1].split("?")[0]


@dataclass
class Manifest:
    """A parsed, validated manifest."""

    id: str
    title: str
    access: str
    licence: str
    citation: str
    homepage: str
    layout: list[str]
    version: str = ""
    files: list[RemoteFile] = field(default_factory=list)
    root: str = ""
    manual_steps: list[str] = field(default_factory=list)
    notes: str = ""
    path: Path | None = None

    def describe_layout(self) -> str:
        return "\n".join(f"    <data_dir>/{p}" for p in self.layout)

    def manual_instructions(self, target: Path) -> str:
        steps = "\n".join(f"  {i}. {s}" for i, s in enumerate(self.manual_steps, 1))
        return (f"{self.title} ({self.id}) has access level '{self.access}' (licence: {self.licence}); "
                f"it cannot be downloaded automatically.\n"
                f"Steps:\n{steps}\n"
                f"Then pass DATA_DIR pointing at the folder that contains:\n{self.describe_layout()}\n"
                f"(looked in: {target})\n"
                f"Never put credentials in a notebook, a parameter or an environment variable that is logged.")


def _require(cond: bool, path: Path, msg: str) -> None:
    if not cond:
        raise ManifestError(f"{path}: {msg}")


def parse(path: Path) -> Manifest:
    """Read and validate one manifest file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path}: not valid YAML ({exc})") from exc
    _require(isinstance(raw, dict), path, "top level must be a mapping")
    for key in _REQUIRED:
        _require(key in raw and raw[key] not in (None, "", []), path, f"missing required field '{key}'")
    _require(raw["id"] == path.stem, path, f"id '{raw['id']}' must equal the file name '{path.stem}'")
    _require(raw["access"] in ACCESS_LEVELS, path, f"access must be one of {ACCESS_LEVELS}, got {raw['access']!r}")
    _require(isinstance(raw["layout"], list), path, "layout must be a list of relative paths")
    for p in raw["layout"]:
        _require(isinstance(p, str) and not p.startswith("/") and ".." not in Path(p).parts, path,
                 f"layout entry {p!r} must be a relative path inside the dataset")
    files = []
    for i, f in enumerate(raw.get("files") or []):
        _require(isinstance(f, dict) and "url" in f, path, f"files[{i}] needs a url")
        sha = f.get("sha256")
        if sha is not None:
            _require(isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha.lower()),
                     path, f"files[{i}].sha256 must be 64 hex digits")
        else:
            _require(bool(f.get("sha256_note")), path, f"files[{i}] has no sha256: give sha256_note saying why")
        _require(f.get("extract", "none") in ("zip", "tar", "none"), path, f"files[{i}].extract must be zip|tar|none")
        files.append(RemoteFile(url=f["url"], sha256=sha, size=f.get("size"), extract=f.get("extract", "none"),
                                name=f.get("name")))
    if raw["access"] == "open":
        _require(bool(files), path, "open data needs at least one entry in files")
    else:
        _require(bool(raw.get("manual_steps")), path, "manual or gated data needs manual_steps")
    return Manifest(id=raw["id"], title=raw["title"], access=raw["access"], licence=raw["licence"],
                    citation=raw["citation"], homepage=raw["homepage"], layout=list(raw["layout"]),
                    version=str(raw.get("version", "")), files=files, root=raw.get("root", "") or "",
                    manual_steps=list(raw.get("manual_steps") or []), notes=raw.get("notes", "") or "", path=path)


def load(dataset_id: str, folder: Path | None = None) -> Manifest:
    """Load ``data_manifests/<dataset_id>.yaml``."""
    folder = folder or manifests_dir()
    path = folder / f"{dataset_id}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.yaml"))
        raise ManifestError(f"no manifest '{dataset_id}' in {folder} (known: {', '.join(known) or 'none'})")
    return parse(path)


def all_manifests(folder: Path | None = None) -> dict[str, Manifest]:
    """Every manifest in the folder, validated."""
    folder = folder or manifests_dir()
    return {p.stem: parse(p) for p in sorted(folder.glob("*.yaml"))}


def missing_layout(root: Path, layout: list[str]) -> list[str]:
    """The layout entries absent under ``root`` (a trailing ``/`` means a non-empty folder)."""
    missing = []
    for entry in layout:
        p = root / entry
        if entry.endswith("/"):
            if not p.is_dir() or not any(p.iterdir()):
                missing.append(entry)
        elif not p.exists():
            missing.append(entry)
    return missing


def check_layout(root: Path, layout: list[str], dataset: str = "dataset") -> Path:
    """Raise :class:`LayoutError` naming every missing entry; return ``root``."""
    missing = missing_layout(root, layout)
    if missing:
        raise LayoutError(f"{dataset} at {root} is incomplete; missing: {', '.join(missing)}")
    return root


def sha256sum(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def verify(path: Path, expected: str | None) -> None:
    """Check a file's sha256; on mismatch delete it and raise :class:`ChecksumError` naming both hashes."""
    if expected is None:
        return
    actual = sha256sum(path)
    if actual != expected.lower():
        path.unlink(missing_ok=True)
        raise ChecksumError(f"{path.name} (cache: {path.parent}) has sha256 {actual}, expected {expected}; "
                            "the file was removed — run again to download it afresh.")


def _safe_target(dest: Path, member: str) -> Path:
    target = (dest / member).resolve()
    if dest.resolve() not in (target, *target.parents):
        raise UnsafeArchiveError(f"archive member {member!r} would be written outside {dest}; refusing to extract")
    return target


def extract(archive: Path, dest: Path, kind: str) -> None:
    """Extract ``archive`` into ``dest`` after checking that every member stays inside ``dest``.

    Extraction goes to a temporary sibling folder that is renamed into place only when complete, so an
    interrupted extraction never leaves a folder that looks finished.
    """
    dest = Path(dest)
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        if kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                for name in zf.namelist():
                    _safe_target(tmp, name)
                zf.extractall(tmp)
        elif kind == "tar":
            with tarfile.open(archive) as tf:
                for m in tf.getmembers():
                    _safe_target(tmp, m.name)
                    if m.issym() or m.islnk():
                        _safe_target(tmp, os.path.join(os.path.dirname(m.name), m.linkname))
                tf.extractall(tmp)
        else:
            raise ValueError(f"unknown archive kind {kind!r}")
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def download(remote: RemoteFile, folder: Path, progress: bool = True) -> Path:
    """Download one file with pooch into ``folder`` and verify its sha256.

    pooch writes to a temporary name and renames only after a complete transfer, so an interrupted
    download never leaves a file that passes as complete; the hash is then checked here (a mismatch
    deletes the file and raises :class:`ChecksumError`).
    """
    import pooch

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / remote.filename
    if target.exists():
        verify(target, remote.sha256)  # raises (and deletes) on a corrupt cached copy
        return target
    fname = pooch.retrieve(url=remote.url, known_hash=None, fname=remote.filename, path=folder,
                           progressbar=progress)
    verify(Path(fname), remote.sha256)
    return Path(fname)


def locate(dataset_id: str, data_dir: str | os.PathLike[str] | None = None, *, download_ok: bool = True,
           manifest: Manifest | None = None) -> Path:
    """Return the root folder of a dataset, downloading it first when that is allowed.

    1. ``data_dir`` given and its layout complete (or ``data_dir/<root>``): use it as it is.
    2. Open data: download every file into the cache (``$MEDREPRO_DATA/<id>``), verify, extract, check the layout.
    3. Manual or gated data (manual, registration, credentialed, private): print the manual steps and the expected layout,
       then raise :class:`DataAccessError`.
    """
    m = manifest or load(dataset_id)
    candidates = []
    if data_dir is not None:
        d = Path(data_dir).expanduser()
        candidates += [d, d / m.root] if m.root else [d]
    cache = data_cache() / m.id
    candidates += [cache / m.root] if m.root else [cache]
    for c in candidates:
        if c.is_dir() and not missing_layout(c, m.layout):
            return c
    target = Path(data_dir).expanduser() if data_dir is not None else cache
    if m.access != "open":
        message = m.manual_instructions(target)
        print(message)
        raise DataAccessError(message)
    if not download_ok:
        raise LayoutError(f"{m.id}: no complete copy in {', '.join(map(str, candidates))} and downloading is off")
    target.mkdir(parents=True, exist_ok=True)
    for remote in m.files:
        archive = download(remote, target)
        if remote.extract != "none":
            extract(archive, target / (m.root or archive.stem) if not m.root else target / "_extract", remote.extract)
            if m.root:
                # archives carry their own top folder; move the manifest's root into place
                inner = target / "_extract"
                found = next((p for p in [inner / m.root, inner] if p.is_dir() and not missing_layout(p, m.layout)), None)
                if found is None:
                    raise LayoutError(f"{archive} did not contain {m.root}/ with the expected layout")
                shutil.rmtree(target / m.root, ignore_errors=True)
                found.rename(target / m.root)
                shutil.rmtree(inner, ignore_errors=True)
    root = target / m.root if m.root else target
    return check_layout(root, m.layout, m.id)
