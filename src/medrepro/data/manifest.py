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
        sha256: <64 hex>    # and/or md5: <32 hex>; or neither, with `sha256_note` saying why
        checksum_source: publisher   # publisher | secondary: who published the hash above
        size: 1842000000    # bytes, or null (then the server's Content-Length is asked)
        extract: zip        # zip | tar | none
    sha256sums: https://physionet.org/files/ptb-xl/1.0.3/SHA256SUMS.txt   # optional: the publisher's list of
                            # sha256 sums of every file under the root (PhysioNet publishes one per version)
    root: ptb-xl-...-1.0.3  # folder (inside the extracted archive) that holds the layout below
    layout:                 # paths, relative to the root, that must exist: the loader's contract
      - ptbxl_database.csv
      - scp_statements.csv
      - records500/
    manual_steps:           # gated data: what a person must do, in order
      - ...

:func:`locate` finds a dataset and never modifies a folder the user gives:

* ``locate(id, data_dir)`` reads ``data_dir`` (or ``data_dir/<root>``) as it is. A missing folder is an error; an
  incomplete one is reported (every missing layout entry) and nothing is downloaded into it or deleted from it.
* ``locate(id)`` uses the download cache (``$MEDREPRO_DATA`` or ``~/.cache/medrepro``), or an existing folder the
  user names for downloads (``download_dir=``, ``medrepro run --download-dir``). Open data is downloaded into
  ``<cache>/<id>/`` under a temporary name, verified — against the publisher's checksums where there are any
  (a per-archive sha256/md5, PhysioNet's ``SHA256SUMS.txt`` for every extracted file), else by a full read of
  the archive (zip CRCs, every tar member and the end-of-archive marker) and its complete file list — and only
  then renamed into place. A failure deletes what was partly downloaded or extracted (only inside
  ``<cache>/<id>/``, a folder medrepro created) and names the URL and the file. A download larger than 1 GB,
  or of unknown size, asks for confirmation (``yes=True``, ``MEDREPRO_YES=1`` or ``medrepro run --yes``).
* Gated data (manual, registration, credentialed, private): prints the manual steps and the expected layout,
  then raises :class:`DataAccessError`.
* Several processes may share one cache (the jobs of a campaign on one ``MEDREPRO_DATA``): the fetch and the
  extraction of a dataset run under an exclusive file lock (``<cache>/.<id>.lock``); a process that finds the
  lock taken waits, then uses what the first one verified.

:func:`provenance` says what a root is: publisher-verified download, integrity-verified download, fixture, or an
unverified user folder — for the reproduction record of a full run.
"""
from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import errno
import hashlib
import json
import os
import shutil
import stat
import sys
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

from ..paths import data_cache, manifests_dir

#: open: downloaded and verified automatically; manual: an open licence, but fetched by hand (no stable direct
#: URL or published checksum); registration / credentialed / private: gated.
ACCESS_LEVELS = ("open", "manual", "registration", "credentialed", "private")
_REQUIRED = ("id", "title", "access", "licence", "citation", "homepage", "layout")
#: who published a file's checksum: the data's publisher, or a secondary source (other code bases that agree)
CHECKSUM_SOURCES = ("publisher", "secondary")

#: The values of ``provenance(...)["source"]``, most to least trustworthy.
SOURCES = ("verified-publisher-checksums", "verified-archive-integrity", "fixture", "unverified-user-folder")
#: Downloads larger than this many bytes (or of unknown size) need a confirmation.
CONFIRM_BYTES = 1_000_000_000
#: Environment variable that confirms large downloads where no terminal can ask (notebooks, CI).
YES_ENV = "MEDREPRO_YES"
#: Written into ``<cache>/<id>/`` when medrepro creates it; medrepro deletes only inside folders that carry it.
OWNER_MARKER = ".medrepro-download"
#: Written into ``<cache>/<id>/`` last, when the dataset is downloaded and verified.
PROVENANCE_FILE = "provenance.json"
_SUMS_NAME = "SHA256SUMS.txt"

# Provenance of every root that locate() returned in this process, keyed by the resolved root.
_SEEN: dict[str, dict[str, Any]] = {}


class ManifestError(ValueError):
    """A manifest file is missing a field or has a wrong value."""


class DataAccessError(RuntimeError):
    """The data cannot be fetched automatically; the message says what to do."""


class ChecksumError(RuntimeError):
    """A downloaded file does not have the expected checksum (or a publisher's list of checksums)."""


class CorruptArchiveError(ChecksumError):
    """A downloaded archive is truncated or damaged (failed CRC, missing members, no end-of-archive marker)."""


class UnsafeArchiveError(RuntimeError):
    """An archive member would be written outside the target folder, or is a link."""


class LayoutError(FileNotFoundError):
    """A dataset folder is missing or lacks files its loader needs."""


class DownloadNotConfirmedError(RuntimeError):
    """A large download needs a confirmation; the message says how to give it."""


class FolderNotOwnedError(RuntimeError):
    """A download folder exists but medrepro did not create it, so medrepro will not write into it."""


@dataclass
class RemoteFile:
    """One file that full mode downloads."""

    url: str
    sha256: str | None
    size: int | None = None
    extract: str = "none"
    name: str | None = None
    md5: str | None = None
    checksum_source: str | None = None

    @property
    def filename(self) -> str:
        """The file's name in the cache."""
        return self.name or self.url.rstrip("/").split("/")[-1].split("?")[0]

    @property
    def publisher_verified(self) -> bool:
        """True when the file carries a hash that its publisher published."""
        return bool(self.sha256 or self.md5) and self.checksum_source == "publisher"


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
    sha256sums: str | None = None

    def describe_layout(self) -> str:
        """The layout entries, one per line, as paths under ``<data_dir>``."""
        return "\n".join(f"    <data_dir>/{p}" for p in self.layout)

    def manual_instructions(self, target: Path) -> str:
        """What a person must do to obtain gated data, and where medrepro looked."""
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


def _is_hex(value: Any, n: int) -> bool:
    return isinstance(value, str) and len(value) == n and all(c in "0123456789abcdef" for c in value.lower())


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
    root = raw.get("root", "") or ""
    _require(isinstance(root, str) and not root.startswith("/") and ".." not in Path(root).parts, path,
             f"root {root!r} must be a relative folder name")
    files = []
    for i, f in enumerate(raw.get("files") or []):
        _require(isinstance(f, dict) and "url" in f, path, f"files[{i}] needs a url")
        sha, md5 = f.get("sha256"), f.get("md5")
        if sha is not None:
            _require(_is_hex(sha, 64), path, f"files[{i}].sha256 must be 64 hex digits")
        if md5 is not None:
            _require(_is_hex(md5, 32), path, f"files[{i}].md5 must be 32 hex digits")
        if sha is None and md5 is None:
            _require(bool(f.get("sha256_note")), path, f"files[{i}] has no sha256: give sha256_note saying why")
        else:
            _require(f.get("checksum_source") in CHECKSUM_SOURCES, path,
                     f"files[{i}].checksum_source must say who published the hash: one of {CHECKSUM_SOURCES}")
        _require(f.get("extract", "none") in ("zip", "tar", "none"), path, f"files[{i}].extract must be zip|tar|none")
        size = f.get("size")
        _require(size is None or (isinstance(size, int) and size > 0), path, f"files[{i}].size must be bytes or null")
        files.append(RemoteFile(url=f["url"], sha256=sha.lower() if sha else None, size=size,
                                extract=f.get("extract", "none"), name=f.get("name"),
                                md5=md5.lower() if md5 else None, checksum_source=f.get("checksum_source")))
    sums = raw.get("sha256sums")
    if sums is not None:
        _require(isinstance(sums, str) and sums.startswith(("https://", "http://")), path,
                 "sha256sums must be the URL of the publisher's SHA256SUMS file")
    if raw["access"] == "open":
        _require(bool(files), path, "open data needs at least one entry in files")
    else:
        _require(bool(raw.get("manual_steps")), path, "manual or gated data needs manual_steps")
    return Manifest(id=raw["id"], title=raw["title"], access=raw["access"], licence=raw["licence"],
                    citation=raw["citation"], homepage=raw["homepage"], layout=list(raw["layout"]),
                    version=str(raw.get("version", "")), files=files, root=root,
                    manual_steps=list(raw.get("manual_steps") or []), notes=raw.get("notes", "") or "", path=path,
                    sha256sums=sums)


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


# ------------------------------------------------------------------------------------------- layout
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


# ------------------------------------------------------------------------------------------- checksums
def _digest(path: Path, algorithm: str, chunk: int = 1 << 20) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def sha256sum(path: Path, chunk: int = 1 << 20) -> str:
    """The sha256 of a file, as 64 lower-case hex digits."""
    return _digest(path, "sha256", chunk)


def verify(path: Path, expected: str | None) -> None:
    """Check a file's sha256; on mismatch delete it and raise :class:`ChecksumError` naming both hashes."""
    if expected is None:
        return
    actual = sha256sum(path)
    if actual != expected.lower():
        path.unlink(missing_ok=True)
        raise ChecksumError(f"{path.name} (cache: {path.parent}) has sha256 {actual}, expected {expected}; "
                            "the file was removed — run again to download it afresh.")


def parse_sha256sums(text: str, source: str) -> dict[str, str]:
    """Parse a ``sha256sum``-format list (``<64 hex>  <relative path>`` per line) into ``{path: sha256}``.

    ``source`` (the URL or file it came from) is named in the errors. Paths must stay inside the dataset.
    """
    sums: dict[str, str] = {}
    for i, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or not _is_hex(parts[0], 64):
            raise ChecksumError(f"{source}, line {i}, is not '<sha256>  <path>': {line[:100]!r}")
        rel = parts[1].strip()
        rel = rel[1:] if rel.startswith("*") else rel
        rel = rel[2:] if rel.startswith("./") else rel
        if not rel or rel.startswith("/") or ".." in Path(rel).parts:
            raise ChecksumError(f"{source}, line {i}, names a path outside the dataset: {rel!r}")
        sums[rel] = parts[0].lower()
    if not sums:
        raise ChecksumError(f"{source} lists no files; it is not a SHA256SUMS file")
    return sums


def verify_sha256sums(root: Path, sums: dict[str, str], source: str) -> int:
    """Check every file under ``root`` against the publisher's list ``sums``; return the number of files checked.

    Raises :class:`ChecksumError` when a listed file is missing, a hash differs, or ``root`` holds a file the
    list does not name (the list itself, ``SHA256SUMS.txt``, excepted). Nothing is deleted here.
    """
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    missing = sorted(set(sums) - present)
    if missing:
        raise ChecksumError(f"{len(missing)} file(s) listed in {source} are absent from {root}: "
                            f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}")
    extra = sorted(p for p in present - set(sums) if Path(p).name != _SUMS_NAME)
    if extra:
        raise ChecksumError(f"{root} holds {len(extra)} file(s) that {source} does not list: "
                            f"{', '.join(extra[:10])}{' ...' if len(extra) > 10 else ''}")
    for rel, expected in sorted(sums.items()):
        actual = sha256sum(root / rel)
        if actual != expected:
            raise ChecksumError(f"{rel} has sha256 {actual}, but {source} lists {expected}")
    return len(sums)


# ------------------------------------------------------------------------------------------- archives
def _safe_target(dest: Path, member: str) -> Path:
    target = (dest / member).resolve()
    if dest.resolve() not in (target, *target.parents):
        raise UnsafeArchiveError(f"archive member {member!r} would be written outside {dest}; refusing to extract")
    return target


def _zip_is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def check_archive(archive: Path, kind: str, url: str | None = None, name: str | None = None) -> list[str]:
    """Read a whole archive and return its regular files' names; raise :class:`CorruptArchiveError` if damaged.

    zip: the central directory must be readable and every member's CRC right (``ZipFile.testzip``).
    tar (plain or compressed): every member is read in full, and the archive must end with the end-of-archive
    marker — a tar cut between two members reads without error otherwise. For a compressed tar, reading to
    the end also checks the compressed stream's own length and CRC. ``url`` and ``name`` (the file's real
    name, while it is still under a temporary one) are named in the errors.
    """
    where = f"{name or archive.name} (from {url})" if url else str(archive)
    try:
        if kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                bad = zf.testzip()
                if bad is not None:
                    raise CorruptArchiveError(f"{where} is damaged: member {bad!r} fails its CRC check")
                return [i.filename for i in zf.infolist() if not i.is_dir()]
        if kind == "tar":
            names = []
            with tarfile.open(archive, "r:*") as tf:
                for member in tf:
                    if member.isfile():
                        fh = tf.extractfile(member)
                        n = 0
                        for block in iter(lambda: fh.read(1 << 20), b""):
                            n += len(block)
                        if n != member.size:
                            raise CorruptArchiveError(f"{where} is truncated inside member {member.name!r} "
                                                      f"({n} of {member.size} bytes)")
                        names.append(member.name)
                tf.fileobj.seek(tf.offset)
                trailer = b"".join(iter(lambda: tf.fileobj.read(1 << 20), b""))
            if len(trailer) < 2 * tarfile.BLOCKSIZE or trailer[:2 * tarfile.BLOCKSIZE].strip(b"\0"):
                raise CorruptArchiveError(f"{where} is truncated: it has no end-of-archive marker after its "
                                          f"{len(names)} file(s)")
            return names
    except CorruptArchiveError:
        raise
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise CorruptArchiveError(f"{where} is not a complete {kind} archive ({type(exc).__name__}: {exc})") from exc
    raise ValueError(f"unknown archive kind {kind!r}")


def extract(archive: Path, dest: Path, kind: str) -> list[str]:
    """Extract ``archive`` into the new folder ``dest``; return the regular files written (relative paths).

    Every member must stay inside ``dest``; links (symbolic and hard) and special files are refused, since a
    dataset has no need of them and tarfile resolves hard-link targets from the archive root, not from the
    member's folder. Tar extraction also uses tarfile's ``data`` filter where Python has it (3.12, 3.11.4+).
    Extraction goes to a temporary sibling folder that is renamed to ``dest`` only when every member was
    written with its full size; on any error the temporary folder is deleted and ``dest`` is not created.
    ``dest`` must not exist: nothing is overwritten.
    """
    dest = Path(dest)
    if dest.exists():
        raise FileExistsError(f"{dest} exists; extract() writes only into a new folder")
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        expected: dict[str, int] = {}
        if kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    _safe_target(tmp, info.filename)
                    if _zip_is_link(info):
                        raise UnsafeArchiveError(f"{archive.name}: member {info.filename!r} is a symbolic link; "
                                                 "dataset archives must not contain links, refusing to extract")
                    if not info.is_dir():
                        expected[info.filename] = info.file_size
                zf.extractall(tmp)
        elif kind == "tar":
            with tarfile.open(archive, "r:*") as tf:
                members = tf.getmembers()
                for m in members:
                    _safe_target(tmp, m.name)
                    if m.issym() or m.islnk():
                        raise UnsafeArchiveError(
                            f"{archive.name}: member {m.name!r} is a {'symbolic' if m.issym() else 'hard'} link to "
                            f"{m.linkname!r}; dataset archives must not contain links, refusing to extract")
                    if not (m.isfile() or m.isdir()):
                        raise UnsafeArchiveError(f"{archive.name}: member {m.name!r} is a special file (type "
                                                 f"{m.type!r}); refusing to extract")
                    if m.isfile():
                        expected[m.name] = m.size
                if hasattr(tarfile, "data_filter"):
                    tf.extractall(tmp, members=members, filter="data")
                else:  # pragma: no cover - Python < 3.11.4; links and special files were refused above
                    tf.extractall(tmp, members=members)
        else:
            raise ValueError(f"unknown archive kind {kind!r}")
        for name, size in expected.items():
            p = tmp / name
            if not p.is_file() or p.stat().st_size != size:
                raise CorruptArchiveError(f"{archive.name}: member {name!r} was not extracted in full")
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sorted(expected)


# ------------------------------------------------------------------------------------------- downloads
def _verify_download(path: Path, remote: RemoteFile) -> list[str]:
    """Check a downloaded file against its hashes and, for an archive, its integrity; return what was checked."""
    checks = []
    for algorithm, expected in (("sha256", remote.sha256), ("md5", remote.md5)):
        if expected:
            actual = _digest(path, algorithm)
            if actual != expected:
                raise ChecksumError(f"{remote.filename} downloaded from {remote.url} has {algorithm} {actual}, "
                                    f"expected {expected} ({remote.checksum_source}); the file was removed — run "
                                    "again to download it afresh.")
            checks.append(f"{algorithm} of {remote.filename} = {expected} ({remote.checksum_source} checksum)")
    if remote.extract in ("zip", "tar"):
        n = len(check_archive(path, remote.extract, remote.url, remote.filename))
        checks.append(f"{remote.filename}: complete {remote.extract} archive, {n} files read in full")
    return checks


def download(remote: RemoteFile, folder: Path, progress: bool = True) -> Path:
    """Download one file with pooch into ``folder``, verify it, and only then give it its real name.

    The transfer goes to ``<name>.download`` (pooch itself streams to a temporary file first); the file's
    sha256/md5 and, for an archive, its integrity (:func:`check_archive`) are checked before the rename, so a
    connection cut without a Content-Length never leaves a file that passes as complete. On failure the partial
    file is deleted and the error names the URL and the file. A file already present under its real name
    was verified when it got that name; it is checked again (and deleted on a mismatch).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / remote.filename
    if target.exists():
        try:
            _verify_download(target, remote)
        except ChecksumError:
            target.unlink(missing_ok=True)
            raise
        return target
    partial = folder / (remote.filename + ".download")
    partial.unlink(missing_ok=True)
    _retrieve_checked(remote.url, partial, lambda: _verify_download(partial, remote), progress=progress)
    partial.rename(target)
    return target


def _retrieve_checked(url: str, partial: Path, check: Any, *, progress: bool = False) -> Any:
    """Download ``url`` to ``partial`` with pooch and return ``check()``; on any failure delete ``partial``.

    pooch's own advice to paste the hash of whatever arrived as ``known_hash`` is silenced: the checksum is
    checked here, against the manifest, before the caller renames ``partial`` to its real name.
    """
    import pooch

    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("WARNING")
    try:
        pooch.retrieve(url=url, known_hash=None, fname=partial.name, path=partial.parent, progressbar=progress)
        return check()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        logger.setLevel(level)


def remote_size(url: str, timeout: float = 30.0) -> int | None:
    """The size the server reports for ``url`` (HEAD, redirects followed), or None when it reports none."""
    import requests

    try:
        r = requests.head(url, allow_redirects=True, timeout=timeout)
        value = r.headers.get("Content-Length")
        return int(value) if r.ok and value and int(value) > 0 else None
    except (requests.RequestException, ValueError):
        return None


def _fmt_bytes(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _env_yes() -> bool:
    return os.environ.get(YES_ENV, "").strip().lower() in ("1", "true", "yes", "y")


def _confirm_download(m: Manifest, folder: Path, todo: list[RemoteFile], yes: bool | None) -> None:
    """Say what will be downloaded; above :data:`CONFIRM_BYTES` (or of unknown size) require a confirmation."""
    if not todo:
        return
    sizes = [f.size if f.size else remote_size(f.url) for f in todo]
    total = sum(s or 0 for s in sizes)
    unknown = any(s is None for s in sizes)
    amount = (f"at least {_fmt_bytes(total)} (a server gave no size)" if total else "an unknown amount") if unknown \
        else _fmt_bytes(total)
    urls = ", ".join(f.url for f in todo)
    line = f"{m.id}: downloading {amount} from {urls} into {folder}"
    if not unknown and total <= CONFIRM_BYTES:
        print(line, flush=True)
        return
    if yes or (yes is None and _env_yes()):
        print(line, flush=True)
        return
    question = f"{m.id}: the download is {amount} ({urls}) into {folder}."
    if yes is None and sys.stdin is not None and sys.stdin.isatty():
        answer = input(f"{question} Download it? [y/N] ")
        if answer.strip().lower() in ("y", "yes"):
            return
        raise DownloadNotConfirmedError(f"{question} Not confirmed; nothing was downloaded.")
    raise DownloadNotConfirmedError(
        f"{question} Downloads over {_fmt_bytes(CONFIRM_BYTES)} or of unknown size need a confirmation; nothing "
        f"was downloaded. Confirm with `medrepro run <paper> --mode full --yes` on the command line; in a notebook "
        f"or script, set the environment variable {YES_ENV}=1 (e.g. `import os; os.environ['{YES_ENV}'] = '1'` "
        f"before this cell) or call locate(..., yes=True). To download elsewhere, pass download_dir=<an existing "
        f"folder> (`--download-dir`) or set MEDREPRO_DATA.")


# ------------------------------------------------------------------------------------------- provenance
def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _record(dataset: str, version: str, source: str, root: Path, *, verified_at: str | None = None,
            checks: list[str] | None = None, urls: list[str] | None = None) -> dict[str, Any]:
    return {"dataset": dataset, "version": version, "source": source, "verified_at": verified_at,
            "path": str(root), "checks": list(checks or []), "urls": list(urls or [])}


def _remember(root: Path, rec: dict[str, Any]) -> None:
    _SEEN[str(Path(root).resolve())] = copy.deepcopy(rec)


def _owned(folder: Path) -> bool:
    return (folder / OWNER_MARKER).is_file()


def _read_marker(folder: Path) -> dict[str, Any] | None:
    """The provenance record in a medrepro download folder, or None (no folder, not medrepro's, unreadable)."""
    p = folder / PROVENANCE_FILE
    if not (_owned(folder) and p.is_file()):
        return None
    try:
        rec = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) and rec.get("source") in SOURCES[:2] else None


def _marker_for(root: Path, dataset_id: str, version: str | None = None) -> dict[str, Any] | None:
    """The verified-download record of ``root`` (kept in ``root.parent``), or None.

    The record matches by dataset, version (when given) and the root's name, not by the absolute path, so a
    cache reached through another path (a symlink, a moved disk) is still recognised; ``path`` is updated.
    """
    root = Path(root)
    marker = _read_marker(root.parent)
    if (marker is None or marker.get("dataset") != dataset_id or Path(str(marker.get("path", ""))).name != root.name
            or (version is not None and marker.get("version") != version)):
        return None
    return {**marker, "path": str(root)}


def _is_fixture(*paths: Path) -> bool:
    from .datasets import is_fixture  # the same test as RunConfig.on_fixture

    return any(is_fixture(p) for p in paths)


def _user_folder_record(m: Manifest, root: Path, given: Path) -> dict[str, Any]:
    marker = _marker_for(root, m.id, m.version)  # DATA_DIR may point into a download medrepro verified
    if marker is not None:
        return marker
    if _is_fixture(given, root):
        return _record(m.id, m.version, "fixture", root,
                       checks=["make_fixture marker found: a miniature of the layout with simulated content"])
    return _record(m.id, m.version, "unverified-user-folder", root,
                   checks=[f"layout entries present: {', '.join(m.layout)}",
                           "files not checked against any checksum (a folder the user gave is read as it is)"])


def provenance(dataset_id: str, root: str | os.PathLike[str]) -> dict[str, Any]:
    """What data a dataset root holds, for the reproduction record of a full run.

    Returns a JSON-serialisable dict::

        {"dataset": "ptbxl", "version": "1.0.3",
         "source": "verified-publisher-checksums" | "verified-archive-integrity" | "fixture"
                   | "unverified-user-folder",
         "verified_at": "2026-05-01T12:00:00+00:00" or None (fixture, user folder),
         "path": "/root/.cache/medrepro/ptbxl/ptb-xl-...-1.0.3",
         "checks": ["sha256 of 43,680 files against https://physionet.org/files/ptb-xl/1.0.3/SHA256SUMS.txt", ...],
         "urls": ["https://physionet.org/static/published-projects/ptb-xl/...zip", ...]}

    ``verified-publisher-checksums``: every file was checked against hashes the publisher published (an archive
    sha256/md5, or PhysioNet's SHA256SUMS.txt for every extracted file). ``verified-archive-integrity``: the
    publisher gives no checksum; the archive was read in full (CRCs, complete member list), or matched a hash
    from secondary sources only. ``fixture``: a ``make_fixture`` miniature (same marker test as
    ``RunConfig.on_fixture``). ``unverified-user-folder``: a folder the user gave, read as it is.
    The answer is what :func:`locate` found in this process, else the record it wrote in the download cache,
    else it is worked out from the folder (fixture marker or not).
    """
    root = Path(root).expanduser()
    rec = _SEEN.get(str(root.resolve()))
    if rec is not None and rec.get("dataset") == dataset_id:
        return copy.deepcopy(rec)
    marker = _marker_for(root, dataset_id)
    if marker is not None:
        return marker
    try:
        version = load(dataset_id).version
    except (ManifestError, FileNotFoundError):
        version = ""
    if _is_fixture(root, root.parent):
        return _record(dataset_id, version, "fixture", root,
                       checks=["make_fixture marker found: a miniature of the layout with simulated content"])
    return _record(dataset_id, version, "unverified-user-folder", root,
                   checks=["files not checked against any checksum (not downloaded and verified by medrepro)"])


def located() -> list[dict[str, Any]]:
    """The provenance of every dataset :func:`locate` returned in this process, in the order found.

    :func:`medrepro.report.record` adds it to a full-mode record when the notebook passes none.
    """
    return [copy.deepcopy(rec) for rec in _SEEN.values()]


# ------------------------------------------------------------------------------------------- locks
#: errno values of a file system without locks (NFS without lockd, Lustre mounted without ``flock``)
_NO_LOCKS = {errno.ENOSYS, errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL}


class LockedError(RuntimeError):
    """Another process holds a lock that the caller would not wait for."""


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str], what: str, *, wait: bool = True) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (created if missing) for the ``with`` block.

    ``flock`` on POSIX (Linux NFS clients map it onto NFS byte-range locks, so it holds across the nodes of a
    cluster), ``msvcrt.locking`` on Windows. When the lock is taken, one line says so (naming ``what`` and the
    lock file) and the call waits — or, with ``wait=False``, raises :class:`LockedError`. A file system that
    supports no locks gets a warning and no lock.
    """
    path = Path(path)
    fh = open(path, "a+b")
    locked = False
    try:
        try:
            locked = _lock(fh, blocking=False)
            if not locked and not wait:
                raise LockedError(f"{what}: another process holds {path}")
            if not locked:
                print(f"{what}: another process holds {path}; waiting for it to finish ...", flush=True)
                locked = _lock(fh, blocking=True)
        except OSError as exc:
            if exc.errno not in _NO_LOCKS:
                raise
            print(f"WARNING: {what}: the file system of {path} supports no file locks ({exc}); concurrent "
                  "downloads of this dataset into this folder are not protected — fetch it once before starting "
                  "parallel jobs (`medrepro campaign --prefetch`)", file=sys.stderr, flush=True)
        yield
    finally:
        if locked:
            _unlock(fh)
        fh.close()


def _lock(fh: Any, blocking: bool) -> bool:
    """Take the lock on the open file ``fh``; False when ``blocking`` is False and another process holds it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt
        import time

        while True:
            try:
                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
                return True
            except OSError:
                if not blocking:
                    return False
                time.sleep(0.5)
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        return True
    except BlockingIOError:
        return False


def _unlock(fh: Any) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def lock_path(base: Path, dataset_id: str) -> Path:
    """The lock file that guards the download of ``dataset_id`` into ``base/<id>/``."""
    return Path(base) / f".{dataset_id}.lock"


def present(dataset_id: str, data_dir: str | os.PathLike[str] | None = None, *,
            download_dir: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """The provenance :func:`locate` would record for a dataset that is already there, else None.

    Nothing is downloaded, printed, written or remembered: a campaign asks this before it submits any job.
    ``data_dir``: a complete folder the user gives (read as it is). Otherwise the download cache (or
    ``download_dir``): a download medrepro verified, or a complete folder put there by hand. None when the
    dataset would have to be downloaded, or is missing or incomplete.
    """
    m = load(dataset_id)
    if data_dir is not None:
        d = Path(data_dir).expanduser()
        found = _complete(m, d) if d.is_dir() else None
        return _user_folder_record(m, found, d) if found is not None else None
    base = Path(download_dir).expanduser() if download_dir is not None else data_cache()
    folder = base / m.id
    root = folder / (m.root or "data")
    marker = _marker_for(root, m.id, m.version)
    if marker is not None and root.is_dir() and not missing_layout(root, m.layout):
        return marker
    if folder.is_dir() and not _owned(folder):
        found = _complete(m, folder)
        if found is not None:
            return _user_folder_record(m, found, folder)
    return None


# ------------------------------------------------------------------------------------------- locate
def _candidates(m: Manifest, d: Path) -> list[Path]:
    return [d, d / m.root] if m.root else [d]


def _complete(m: Manifest, d: Path) -> Path | None:
    return next((c for c in _candidates(m, d) if c.is_dir() and not missing_layout(c, m.layout)), None)


def _locate_given(m: Manifest, d: Path) -> Path:
    """``data_dir`` given: read it as it is, or say exactly what is wrong. Never writes or deletes."""
    if not d.is_dir():
        msg = (f"{m.id}: DATA_DIR {d} does not exist or is not a folder. medrepro never creates or writes into "
               f"DATA_DIR: pass the folder that holds the dataset")
        if m.access != "open":
            message = f"{msg}.\n{m.manual_instructions(d)}"
            print(message)
            raise DataAccessError(message)
        raise LayoutError(f"{msg}, or DATA_DIR=None to download it into the cache ({data_cache() / m.id}).")
    found = _complete(m, d)
    if found is not None:
        _remember(found, _user_folder_record(m, found, d))
        return found
    best = d / m.root if m.root and (d / m.root).is_dir() else d
    missing = missing_layout(best, m.layout)
    msg = (f"{m.id}: DATA_DIR {best} is incomplete; missing: {', '.join(missing)}"
           f"{f' (also looked for a {m.root}/ folder in {d})' if best == d and m.root else ''}. "
           f"medrepro reads DATA_DIR as it is and never downloads into it or deletes from it")
    if m.access != "open":
        message = f"{msg}.\n{m.manual_instructions(d)}"
        print(message)
        raise DataAccessError(message)
    raise LayoutError(f"{msg}: complete it by hand, or run with DATA_DIR=None to download and verify the dataset "
                      f"in the cache ({data_cache() / m.id}) or in a folder you name with download_dir= "
                      "(`medrepro run --download-dir`).")


def _download_base(download_dir: str | os.PathLike[str] | None) -> Path:
    if download_dir is not None:
        base = Path(download_dir).expanduser()
        if not base.is_dir():
            raise LayoutError(f"download_dir {base} does not exist; create it first (medrepro does not create "
                              "folders you name, so that a typo cannot start a download in the wrong place)")
        return base
    base = data_cache()
    base.mkdir(parents=True, exist_ok=True)
    return base


def _clean(folder: Path, root: Path) -> None:
    """Delete the leftovers of an unfinished download — only inside ``folder``, which medrepro created."""
    assert _owned(folder), folder
    for p in folder.iterdir():
        if p.name.endswith((".download", ".partial")) or p.name.startswith(".staging-"):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
    (folder / PROVENANCE_FILE).unlink(missing_ok=True)
    if root != folder and root.is_dir() and folder in root.parents:
        shutil.rmtree(root)


def _fetch_sums(m: Manifest, folder: Path) -> dict[str, str]:
    assert m.sha256sums
    target = folder / _SUMS_NAME
    target.unlink(missing_ok=True)
    partial = folder / (_SUMS_NAME + ".download")
    sums = _retrieve_checked(m.sha256sums, partial, lambda: parse_sha256sums(
        partial.read_text(encoding="utf-8", errors="replace"), m.sha256sums))
    partial.rename(target)
    return sums


def _merge(src: Path, dst: Path, archive: str) -> None:
    """Move the contents of ``src`` into ``dst`` (both inside the download folder); refuse name clashes."""
    for p in src.iterdir():
        if (dst / p.name).exists():
            raise CorruptArchiveError(f"{archive} holds {p.name!r}, which an earlier file of the dataset already "
                                      "provided; the manifest's files overlap")
        p.rename(dst / p.name)


def _fetch(m: Manifest, folder: Path, root: Path, progress: bool) -> dict[str, Any]:
    """Download, verify, extract and move into place every file of an open dataset; return its provenance."""
    if not _owned(folder):
        folder.mkdir(exist_ok=True)
        if any(folder.iterdir()):
            raise FolderNotOwnedError(f"{m.id}: {folder} is not empty and was not created by medrepro; "
                                      "medrepro will not write into it")
        (folder / OWNER_MARKER).write_text(f"created by medrepro to download the dataset {m.id}; medrepro deletes "
                                           "only inside folders that carry this file\n")
    _clean(folder, root)
    checks: list[str] = []
    sums = _fetch_sums(m, folder) if m.sha256sums else None
    staging = folder / f".staging-{root.name}"
    staging.mkdir()
    archives: list[Path] = []
    try:
        for remote in m.files:
            path = download(remote, folder, progress)
            archives.append(path)
            checks += _describe(remote)  # download() verified it before giving it its name
            if remote.extract == "none":
                path.rename(staging / path.name)
                continue
            x = folder / f".staging-x-{path.name}"
            extract(path, x, remote.extract)
            inner = x / m.root if m.root and (x / m.root).is_dir() else x
            _merge(inner, staging, f"{path.name} (from {remote.url})")
            shutil.rmtree(x)
        if sums is not None:
            try:
                n = verify_sha256sums(staging, sums, m.sha256sums or "")
            except ChecksumError as exc:
                for a in archives:  # the archive does not hold the publisher's files: download afresh next time
                    a.unlink(missing_ok=True)
                raise ChecksumError(f"{m.id}: the files extracted from {', '.join(f.url for f in m.files)} do not "
                                    f"match the publisher's checksums — {exc}. The download and the extraction "
                                    "were removed; run again to download afresh.") from exc
            checks.append(f"sha256 of {n} files against {m.sha256sums} (publisher checksums), no file unlisted")
        missing = missing_layout(staging, m.layout)
        if missing:
            raise LayoutError(f"{m.id}: {', '.join(f.url for f in m.files)} extracted without {', '.join(missing)} "
                              f"under {m.root or 'its top folder'}/; the manifest's root or layout is wrong")
        staging.rename(root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for p in folder.glob(".staging-x-*"):
            shutil.rmtree(p, ignore_errors=True)
        raise
    publisher = sums is not None or all(f.publisher_verified for f in m.files)
    rec = _record(m.id, m.version, SOURCES[0] if publisher else SOURCES[1], root, verified_at=_now(),
                  checks=checks, urls=[f.url for f in m.files] + ([m.sha256sums] if m.sha256sums else []))
    tmp = folder / (PROVENANCE_FILE + ".download")
    tmp.write_text(json.dumps(rec, indent=1), encoding="utf-8")
    tmp.rename(folder / PROVENANCE_FILE)
    return rec


def _describe(remote: RemoteFile) -> list[str]:
    out = [f"{algorithm} of {remote.filename} = {value} ({remote.checksum_source} checksum)"
           for algorithm, value in (("sha256", remote.sha256), ("md5", remote.md5)) if value]
    if remote.extract in ("zip", "tar"):
        out.append(f"{remote.filename}: complete {remote.extract} archive (every member read in full"
                   f"{', CRCs checked' if remote.extract == 'zip' else ', end-of-archive marker present'})")
    return out


def locate(dataset_id: str, data_dir: str | os.PathLike[str] | None = None, *, download_ok: bool = True,
           download_dir: str | os.PathLike[str] | None = None, yes: bool | None = None,
           manifest: Manifest | None = None, progress: bool = True) -> Path:
    """Return the root folder of a dataset, downloading and verifying it first when that is allowed.

    Args:
        dataset_id: a manifest id (``data_manifests/<id>.yaml``).
        data_dir: a folder the user gives. Read only: its layout (or that of ``data_dir/<root>``) must be
            complete; a missing or incomplete folder raises :class:`LayoutError` naming what is missing (gated
            data: :class:`DataAccessError` with the manual steps). Nothing is downloaded into it or deleted.
        download_ok: False: never download (raise instead).
        download_dir: an existing folder to download into instead of the cache (``$MEDREPRO_DATA`` or
            ``~/.cache/medrepro``); the data go to ``<download_dir>/<id>/``.
        yes: confirm a download over 1 GB or of unknown size (default: the ``MEDREPRO_YES`` environment
            variable; a terminal asks; elsewhere :class:`DownloadNotConfirmedError` says how to confirm).
        manifest: use this parsed manifest instead of loading ``dataset_id``.
        progress: show pooch's progress bar.

    The provenance of the returned root (see :func:`provenance`) is remembered for the record of the run.
    """
    m = manifest or load(dataset_id)
    if data_dir is not None:
        return _locate_given(m, Path(data_dir).expanduser())
    base = _download_base(download_dir)
    folder = base / m.id
    root = folder / (m.root or "data")
    marker = _marker_for(root, m.id, m.version)
    if marker is not None and root.is_dir() and not missing_layout(root, m.layout):
        _remember(root, marker)
        return root
    if m.access != "open" or not download_ok or (
            folder.is_dir() and not _owned(folder) and (_complete(m, folder) is not None or any(folder.iterdir()))):
        # nothing will be downloaded: gated data, downloads off, or a folder medrepro did not create (read as it
        # is, or refused) — no lock, and nothing written next to the folder
        return _locate_cached(m, folder, root, download_ok, yes, progress)
    # another process (a job of the same campaign) may be fetching the same dataset into the same cache:
    # one fetches and extracts under the lock, the others wait and then find its verified copy
    with file_lock(lock_path(base, m.id), f"{m.id}: downloading into {folder}"):
        return _locate_cached(m, folder, root, download_ok, yes, progress)


def _locate_cached(m: Manifest, folder: Path, root: Path, download_ok: bool, yes: bool | None,
                   progress: bool) -> Path:
    """:func:`locate` in the download cache, after the fast path (run under the dataset's lock for open data)."""
    marker = _marker_for(root, m.id, m.version)
    if marker is not None and root.is_dir() and not missing_layout(root, m.layout):
        _remember(root, marker)
        return root
    if folder.exists() and not _owned(folder):
        # a folder medrepro did not create (a copy put there by hand, an older medrepro's cache): read only
        found = _complete(m, folder)
        if found is not None:
            print(f"{m.id}: using {found} as it is — it was not downloaded and verified by this medrepro "
                  f"(no {OWNER_MARKER}); its record says 'unverified-user-folder'. Delete {folder} to download "
                  "and verify it afresh.")
            _remember(found, _user_folder_record(m, found, folder))
            return found
        if m.access == "open" and any(folder.iterdir()):
            raise FolderNotOwnedError(f"{m.id}: {folder} exists, is incomplete and was not created by medrepro; "
                                      "medrepro will not write into it or delete from it. Move it away, or pass "
                                      "download_dir=<another existing folder>.")
    if m.access != "open":
        message = m.manual_instructions(folder)
        print(message)
        raise DataAccessError(message)
    if not download_ok:
        raise LayoutError(f"{m.id}: no verified copy in {folder} and downloading is off")
    todo = [f for f in m.files if not (folder / f.filename).is_file()]
    _confirm_download(m, folder, todo, yes)
    rec = _fetch(m, folder, root, progress)
    _remember(root, rec)
    return root
