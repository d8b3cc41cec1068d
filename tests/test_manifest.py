import hashlib
import io as _io
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from medrepro.data import manifest as M

ROOT = Path(__file__).resolve().parents[1]


def write_manifest(folder: Path, **over) -> Path:
    base = dict(id="toy", title="Toy data", access="open", licence="CC0", citation="Nobody (2026).",
                homepage="https://example.org", layout=["index.csv", "records/"],
                files=[{"url": "http://127.0.0.1:1/toy.zip", "sha256": "0" * 64, "extract": "zip"}])
    base.update(over)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{base['id']}.yaml"
    path.write_text(yaml.safe_dump(base))
    return path


def test_all_committed_manifests_are_valid():
    found = M.all_manifests(ROOT / "data_manifests")
    for m in found.values():
        assert m.licence and m.citation and m.layout
        if m.access == "open":
            assert m.files
        else:
            assert m.manual_steps


@pytest.mark.parametrize("over,msg", [
    (dict(access="secret"), "access must be one of"),
    (dict(licence=""), "missing required field 'licence'"),
    (dict(layout=["../escape"]), "relative path inside"),
    (dict(files=[{"url": "http://x/y", "sha256": "abc"}]), "64 hex"),
    (dict(files=[{"url": "http://x/y", "sha256": None}]), "sha256_note"),
    (dict(access="credentialed", files=[]), "manual_steps"),
])
def test_bad_manifests(tmp_path, over, msg):
    with pytest.raises(M.ManifestError, match=msg):
        M.parse(write_manifest(tmp_path, **over))


def test_id_must_match_filename(tmp_path):
    p = write_manifest(tmp_path)
    p2 = p.with_name("other.yaml")
    p.rename(p2)
    with pytest.raises(M.ManifestError, match="must equal the file name"):
        M.parse(p2)


def _zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_locate_downloads_verifies_and_extracts(tmp_path, http_server, monkeypatch):
    base, www = http_server
    payload = _zip_bytes({"toy-1.0/index.csv": b"a,b\n", "toy-1.0/records/r1.txt": b"x"})
    (www / "toy.zip").write_bytes(payload)
    sha = hashlib.sha256(payload).hexdigest()
    monkeypatch.setenv("MEDREPRO_DATA", str(tmp_path / "cache"))
    m = M.parse(write_manifest(tmp_path / "m", root="toy-1.0",
                               files=[{"url": f"{base}/toy.zip", "sha256": sha, "extract": "zip"}]))
    root = M.locate("toy", manifest=m)
    assert (root / "index.csv").read_text() == "a,b\n"
    assert root == tmp_path / "cache" / "toy" / "toy-1.0"
    # a second call finds the complete copy and downloads nothing
    (www / "toy.zip").unlink()
    assert M.locate("toy", manifest=m) == root


def test_checksum_mismatch_names_file_and_hashes_and_deletes(tmp_path, http_server, monkeypatch):
    base, www = http_server
    (www / "toy.zip").write_bytes(b"corrupt")
    monkeypatch.setenv("MEDREPRO_DATA", str(tmp_path / "cache"))
    m = M.parse(write_manifest(tmp_path / "m", files=[{"url": f"{base}/toy.zip", "sha256": "a" * 64, "extract": "zip"}]))
    with pytest.raises(M.ChecksumError) as err:
        M.locate("toy", manifest=m)
    text = str(err.value)
    assert "toy.zip" in text and "a" * 64 in text and hashlib.sha256(b"corrupt").hexdigest() in text
    assert not (tmp_path / "cache" / "toy" / "toy.zip").exists()


def test_interrupted_download_leaves_no_complete_looking_file(tmp_path, http_server):
    base, www = http_server
    (www / "big.bin").write_bytes(b"x" * 100_000)
    remote = M.RemoteFile(url=f"{base}/truncated/big.bin", sha256=None)
    with pytest.raises(Exception):
        M.download(remote, tmp_path / "dl", progress=False)
    assert not (tmp_path / "dl" / "big.bin").exists()


def test_zip_slip_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    archive.write_bytes(_zip_bytes({"../outside.txt": b"x"}))
    with pytest.raises(M.UnsafeArchiveError, match="outside"):
        M.extract(archive, tmp_path / "dest", "zip")
    assert not (tmp_path / "outside.txt").exists() and not (tmp_path / "dest").exists()


def test_tar_symlink_escape_refused(tmp_path):
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tf:
        info = tarfile.TarInfo("link")
        info.type = tarfile.SYMTYPE
        info.linkname = "../../etc/passwd"
        tf.addfile(info)
    with pytest.raises(M.UnsafeArchiveError):
        M.extract(archive, tmp_path / "dest", "tar")


def test_gated_data_prints_steps_and_raises(tmp_path, capsys):
    m = M.parse(write_manifest(tmp_path, access="registration", files=[],
                               manual_steps=["Register at https://example.org", "Download the zip"]))
    with pytest.raises(M.DataAccessError, match="Register at"):
        M.locate("toy", tmp_path / "nowhere", manifest=m)
    out = capsys.readouterr().out
    assert "index.csv" in out and "records/" in out and "credentials" in out


def test_layout_check_names_missing_entries(tmp_path):
    (tmp_path / "index.csv").write_text("x")
    with pytest.raises(M.LayoutError, match="records/"):
        M.check_layout(tmp_path, ["index.csv", "records/"], "toy")


def test_given_data_dir_with_complete_layout_is_used(tmp_path):
    (tmp_path / "d" / "records").mkdir(parents=True)
    (tmp_path / "d" / "records" / "a").write_text("x")
    (tmp_path / "d" / "index.csv").write_text("x")
    m = M.parse(write_manifest(tmp_path / "m"))
    assert M.locate("toy", tmp_path / "d", manifest=m) == tmp_path / "d"
