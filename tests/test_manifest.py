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
                files=[{"url": "http://127.0.0.1:1/toy.zip", "sha256": "0" * 64, "checksum_source": "publisher",
                        "extract": "zip"}])
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
                               files=[{"url": f"{base}/toy.zip", "sha256": sha, "checksum_source": "publisher",
                                       "extract": "zip"}]))
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
    m = M.parse(write_manifest(tmp_path / "m", files=[{"url": f"{base}/toy.zip", "sha256": "a" * 64,
                                                             "checksum_source": "publisher", "extract": "zip"}]))
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


# ---------------------------------------------------------------------------------------------------------------
# Issue 10, findings 5-8: a user's folder is never modified; archives without links; verified downloads; provenance.
# Nothing here reaches the internet: a server on 127.0.0.1 serves the files the tests write.

import http.server
import json
import os
import threading

from medrepro.data.datasets import mark_fixture


@pytest.fixture
def server(tmp_path):
    """Serve ``tmp_path/www`` on 127.0.0.1; yields (base_url, folder, requests).

    ``/cut/<name>`` sends the first half of the file with no Content-Length and closes the connection (a cut
    that the client cannot notice); ``requests`` lists every GET path.
    """
    www = tmp_path / "www"
    www.mkdir()
    seen: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(www), **kw)

        def log_message(self, *args):
            pass

        def do_GET(self):
            seen.append(self.path)
            if self.path.startswith("/cut/"):
                data = (www / self.path.split("/")[-1]).read_bytes()
                self.send_response(200)
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                return
            super().do_GET()

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", www, seen
    srv.shutdown()


def _tar_bytes(files: dict[str, bytes], gz: bool = False) -> bytes:
    buf = _io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, _io.BytesIO(data))
    return buf.getvalue()


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


TOY = {"toy-1.0/index.csv": b"a,b\n", "toy-1.0/records/r1.txt": b"x" * 3000, "toy-1.0/records/r2.txt": b"y" * 3000}


def _sums_text(files: dict[str, bytes], prefix: str = "toy-1.0/") -> str:
    return "".join(f"{hashlib.sha256(d).hexdigest()}  {n[len(prefix):]}\n" for n, d in files.items())


def _toy(tmp_path: Path, base: str, **file_over) -> M.Manifest:
    entry = {"url": f"{base}/toy.zip", "sha256": None, "sha256_note": "the publisher gives none", "extract": "zip"}
    entry.update(file_over)
    return M.parse(write_manifest(tmp_path / "m", root="toy-1.0", version="1.0", files=[entry]))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("MEDREPRO_DATA", str(folder))
    monkeypatch.delenv("MEDREPRO_YES", raising=False)
    getattr(M, "_SEEN", {}).clear()
    return folder


# -- finding 5: a folder the user gives is read only ------------------------------------------------------------
def test_incomplete_user_folder_is_reported_never_downloaded_into_or_deleted(tmp_path, server, cache):
    base, www, seen = server
    (www / "toy.zip").write_bytes(_zip_bytes(TOY))
    m = _toy(tmp_path, base)
    mine = tmp_path / "mydata"
    (mine / "toy-1.0").mkdir(parents=True)
    (mine / "toy-1.0" / "index.csv").write_text("my own edited index\n")
    (mine / "toy-1.0" / "notes.txt").write_text("my notes\n")
    before = _snapshot(mine)
    with pytest.raises(M.LayoutError) as err:
        M.locate("toy", mine, manifest=m)
    assert "records/" in str(err.value) and "never downloads into it" in str(err.value)
    assert _snapshot(mine) == before and sorted(p.name for p in mine.iterdir()) == ["toy-1.0"]
    assert seen == [] and not cache.exists()


def test_missing_data_dir_is_an_error_and_is_not_created(tmp_path, server, cache):
    base, www, seen = server
    (www / "toy.zip").write_bytes(_zip_bytes(TOY))
    m = _toy(tmp_path, base)
    typo = tmp_path / "dtaa"
    with pytest.raises(M.LayoutError, match="does not exist"):
        M.locate("toy", typo, manifest=m)
    assert not typo.exists() and seen == []


def test_complete_user_folder_is_used_as_it_is_and_recorded_unverified(tmp_path, cache):
    m = _toy(tmp_path, "http://127.0.0.1:1")
    mine = tmp_path / "mydata"
    for name, data in TOY.items():
        (mine / name).parent.mkdir(parents=True, exist_ok=True)
        (mine / name).write_bytes(data)
    before = _snapshot(mine)
    root = M.locate("toy", mine, manifest=m)
    assert root == mine / "toy-1.0" and _snapshot(mine) == before
    prov = M.provenance("toy", root)
    assert prov["source"] == "unverified-user-folder" and prov["verified_at"] is None and prov["path"] == str(root)


def test_a_cache_folder_medrepro_did_not_create_is_not_touched(tmp_path, server, cache):
    base, www, seen = server
    (www / "toy.zip").write_bytes(_zip_bytes(TOY))
    m = _toy(tmp_path, base)
    (cache / "toy" / "toy-1.0").mkdir(parents=True)
    (cache / "toy" / "toy-1.0" / "index.csv").write_text("someone's file\n")
    before = _snapshot(cache)
    with pytest.raises(M.FolderNotOwnedError, match="not created by medrepro"):
        M.locate("toy", manifest=m)
    assert _snapshot(cache) == before and seen == []


def test_large_download_asks_for_confirmation_and_says_how(tmp_path, server, cache, monkeypatch):
    base, www, seen = server
    (www / "toy.zip").write_bytes(_zip_bytes(TOY))
    m = _toy(tmp_path, base)
    monkeypatch.setattr(M, "CONFIRM_BYTES", 100)
    with pytest.raises(M.DownloadNotConfirmedError) as err:
        M.locate("toy", manifest=m)
    text = str(err.value)
    assert "--yes" in text and "MEDREPRO_YES=1" in text and "yes=True" in text and f"{base}/toy.zip" in text
    assert not any(p.startswith("/toy.zip") for p in seen) and not (cache / "toy" / "toy.zip").exists()
    root = M.locate("toy", manifest=m, yes=True)
    assert (root / "index.csv").read_bytes() == b"a,b\n"


def test_download_of_unknown_size_needs_confirmation_env_var_gives_it(tmp_path, server, cache, monkeypatch):
    base, www, _ = server
    (www / "toy.zip").write_bytes(_zip_bytes(TOY))
    m = _toy(tmp_path, base)
    monkeypatch.setattr(M, "remote_size", lambda url, timeout=30.0: None)
    with pytest.raises(M.DownloadNotConfirmedError, match="unknown amount"):
        M.locate("toy", manifest=m)
    monkeypatch.setenv(M.YES_ENV, "1")
    assert M.locate("toy", manifest=m).is_dir()


def test_download_dir_must_exist_and_receives_the_download(tmp_path, server, cache):
    base, www, _ = server
    (www / "toy.zip").write_bytes(_zip_bytes(TOY))
    m = _toy(tmp_path, base)
    with pytest.raises(M.LayoutError, match="create it first"):
        M.locate("toy", manifest=m, download_dir=tmp_path / "dl")
    assert not (tmp_path / "dl").exists()
    (tmp_path / "dl").mkdir()
    root = M.locate("toy", manifest=m, download_dir=tmp_path / "dl")
    assert root == tmp_path / "dl" / "toy" / "toy-1.0" and not cache.exists()


# -- finding 6: no links in dataset archives ---------------------------------------------------------------------
def test_tar_hard_link_in_a_subfolder_cannot_overwrite_a_file_outside(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tf:
        link = tarfile.TarInfo("sub/h")
        link.type = tarfile.LNKTYPE
        link.linkname = "../victim.txt"  # lexically inside from sub/, but tarfile resolves it from the archive root
        tf.addfile(link)
        data = b"overwritten\n"
        info = tarfile.TarInfo("sub/h")
        info.size = len(data)
        tf.addfile(info, _io.BytesIO(data))
    with pytest.raises(M.UnsafeArchiveError, match="hard link"):
        M.extract(archive, tmp_path / "dest", "tar")
    assert victim.read_text() == "precious\n"
    assert not (tmp_path / "dest").exists() and not (tmp_path / "dest.partial").exists()


def test_tar_symlink_chain_cannot_write_outside(tmp_path):
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tf:
        for name, target in (("l1", "."), ("l1/l2", "..")):  # each lexically inside; together l2 -> ../
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
        data = b"planted\n"
        info = tarfile.TarInfo("l2/planted.txt")
        info.size = len(data)
        tf.addfile(info, _io.BytesIO(data))
    with pytest.raises(M.UnsafeArchiveError, match="symbolic link"):
        M.extract(archive, tmp_path / "dest", "tar")
    assert not (tmp_path / "planted.txt").exists() and not (tmp_path / "dest").exists()


def test_zip_symlink_member_refused(tmp_path):
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    (tmp_path / "evil.zip").write_bytes(buf.getvalue())
    with pytest.raises(M.UnsafeArchiveError, match="symbolic link"):
        M.extract(tmp_path / "evil.zip", tmp_path / "dest", "zip")


# -- finding 7: verified downloads --------------------------------------------------------------------------------
def _only_bookkeeping_left(folder: Path) -> bool:
    return sorted(p.name for p in folder.iterdir()) == [M.OWNER_MARKER] if folder.exists() else True


def test_cut_zip_download_is_refused_names_url_and_file_and_leaves_nothing(tmp_path, server, cache):
    base, www, _ = server
    (www / "toy.zip").write_bytes(_zip_bytes(TOY))
    m = _toy(tmp_path, base, url=f"{base}/cut/toy.zip")
    with pytest.raises(M.CorruptArchiveError) as err:
        M.locate("toy", manifest=m, yes=True)
    assert f"{base}/cut/toy.zip" in str(err.value) and "toy.zip" in str(err.value)
    assert _only_bookkeeping_left(cache / "toy")


def test_tar_cut_between_members_is_refused(tmp_path, server, cache):
    base, www, _ = server
    payload = _tar_bytes({**TOY, **{f"toy-1.0/records/r{i}.txt": b"z" * 512 for i in range(3, 9)}})
    with tarfile.open(fileobj=_io.BytesIO(payload)) as tf:
        cut = tf.getmembers()[4].offset  # the start of a member's header
    # a cut at a member boundary reads without error in tarfile; only the missing end-of-archive marker shows it
    (www / "toy.tar").write_bytes(payload[:cut])
    m = _toy(tmp_path, base, url=f"{base}/toy.tar", extract="tar")
    with pytest.raises(M.CorruptArchiveError, match="end-of-archive marker") as err:
        M.locate("toy", manifest=m, yes=True)
    assert f"{base}/toy.tar" in str(err.value)
    assert _only_bookkeeping_left(cache / "toy")


def test_cut_tar_gz_is_refused(tmp_path, server, cache):
    base, www, _ = server
    (www / "toy.tar.gz").write_bytes(_tar_bytes(TOY, gz=True))
    m = _toy(tmp_path, base, url=f"{base}/cut/toy.tar.gz", extract="tar")
    with pytest.raises(M.CorruptArchiveError, match="toy.tar.gz"):
        M.locate("toy", manifest=m, yes=True)
    assert _only_bookkeeping_left(cache / "toy")


def test_wrong_md5_is_refused_and_removed(tmp_path, server, cache):
    base, www, _ = server
    payload = _tar_bytes(TOY, gz=True)
    (www / "toy.tar.gz").write_bytes(payload)
    m = _toy(tmp_path, base, url=f"{base}/toy.tar.gz", extract="tar", md5="0" * 32, checksum_source="publisher")
    with pytest.raises(M.ChecksumError) as err:
        M.locate("toy", manifest=m)
    assert hashlib.md5(payload).hexdigest() in str(err.value) and f"{base}/toy.tar.gz" in str(err.value)
    assert _only_bookkeeping_left(cache / "toy")
    m.files[0].md5 = hashlib.md5(payload).hexdigest()
    root = M.locate("toy", manifest=m)
    assert M.provenance("toy", root)["source"] == "verified-publisher-checksums"


def test_sha256sums_verify_every_extracted_file_and_record_provenance(tmp_path, server, cache):
    base, www, seen = server
    (www / "toy.zip").write_bytes(_zip_bytes(TOY))
    (www / "SHA256SUMS.txt").write_text(_sums_text(TOY))
    m = _toy(tmp_path, base)
    m.sha256sums = f"{base}/SHA256SUMS.txt"
    root = M.locate("toy", manifest=m)
    prov = M.provenance("toy", root)
    assert prov["source"] == "verified-publisher-checksums" and prov["dataset"] == "toy" and prov["version"] == "1.0"
    assert prov["verified_at"] and prov["path"] == str(root) and any("3 files" in c for c in prov["checks"])
    # the record lives in the cache only, and a new process (empty registry) reads it back
    assert json.loads((cache / "toy" / M.PROVENANCE_FILE).read_text())["source"] == "verified-publisher-checksums"
    M._SEEN.clear()
    assert M.provenance("toy", root) == prov
    n = len(seen)
    assert M.locate("toy", manifest=m) == root and len(seen) == n  # verified copy found, nothing downloaded
    M._SEEN.clear()  # DATA_DIR pointing at the verified copy keeps its provenance
    assert M.locate("toy", root, manifest=m) == root and M.provenance("toy", root)["source"] == prov["source"]


@pytest.mark.parametrize("change,msg", [
    (lambda sums: sums.replace(hashlib.sha256(b"x" * 3000).hexdigest(), "f" * 64), "records/r1.txt has sha256"),
    (lambda sums: sums + f"{'e' * 64}  records/r9.txt\n", "absent"),
    (lambda sums: "\n".join(sums.splitlines()[1:]) + "\n", "does not list: index.csv"),
])
def test_sha256sums_mismatch_is_refused_and_cleaned(tmp_path, server, cache, change, msg):
    base, www, _ = server
    (www / "toy.zip").write_bytes(_zip_bytes(TOY))
    (www / "SHA256SUMS.txt").write_text(change(_sums_text(TOY)))
    m = _toy(tmp_path, base)
    m.sha256sums = f"{base}/SHA256SUMS.txt"
    with pytest.raises(M.ChecksumError, match=msg) as err:
        M.locate("toy", manifest=m)
    assert f"{base}/toy.zip" in str(err.value) and f"{base}/SHA256SUMS.txt" in str(err.value)
    left = sorted(p.name for p in (cache / "toy").iterdir())
    assert "toy-1.0" not in left and "toy.zip" not in left and M.PROVENANCE_FILE not in left
    assert not any(name.startswith(".staging") for name in left)


def test_archive_without_publisher_checksum_is_integrity_verified(tmp_path, server, cache):
    base, www, _ = server
    (www / "toy.zip").write_bytes(_zip_bytes(TOY))
    m = _toy(tmp_path, base)
    root = M.locate("toy", manifest=m)
    assert M.provenance("toy", root)["source"] == "verified-archive-integrity"
    m2 = _toy(tmp_path, base, sha256=hashlib.sha256(_zip_bytes(TOY)).hexdigest(), checksum_source="secondary")
    M._SEEN.clear()
    root2 = M.locate("toy", manifest=m2, download_dir=(tmp_path / "dl2").mkdir() or tmp_path / "dl2")
    assert M.provenance("toy", root2)["source"] == "verified-archive-integrity"  # a secondary hash is not the publisher's


def test_an_interrupted_earlier_run_is_cleaned_up_and_redone(tmp_path, server, cache):
    base, www, _ = server
    (www / "toy.zip").write_bytes(_zip_bytes(TOY))
    m = _toy(tmp_path, base)
    root = M.locate("toy", manifest=m)
    # simulate a run cut during extraction: no provenance record, a half root, a staging folder
    (cache / "toy" / M.PROVENANCE_FILE).unlink()
    (root / "index.csv").unlink()
    (cache / "toy" / ".staging-toy-1.0").mkdir()
    M._SEEN.clear()
    assert M.locate("toy", manifest=m) == root and (root / "index.csv").read_bytes() == b"a,b\n"
    assert not (cache / "toy" / ".staging-toy-1.0").exists()


# -- finding 8: provenance of fixtures agrees with RunConfig.on_fixture -------------------------------------------
def test_fixture_provenance_matches_on_fixture(tmp_path, cache):
    from medrepro.config import RunConfig

    m = _toy(tmp_path, "http://127.0.0.1:1")
    fx = tmp_path / "fx"
    for name, data in TOY.items():
        (fx / name).parent.mkdir(parents=True, exist_ok=True)
        (fx / name).write_bytes(data)
    mark_fixture(fx, "toy")
    root = M.locate("toy", fx, manifest=m)
    cfg = RunConfig(paper="x", mode="full", seed=0, device=None, data_dir=fx, budget_s=None)
    assert cfg.on_fixture and M.provenance("toy", root)["source"] == "fixture"
    M._SEEN.clear()
    assert M.provenance("toy", root)["source"] == "fixture"
    assert json.dumps(M.provenance("toy", root))  # JSON-serialisable for the record


# -- the committed manifests --------------------------------------------------------------------------------------
def test_every_open_manifest_is_verified_by_something_published():
    for m in M.all_manifests(ROOT / "data_manifests").values():
        if m.access != "open":
            continue
        assert m.sha256sums or all(f.sha256 or f.md5 for f in m.files), \
            f"{m.id}: no SHA256SUMS and no archive hash — the download could only be integrity-checked"


def test_physionet_manifests_match_physionet_urls():
    """PhysioNet: the zip is static/published-projects/<slug>/<folder>.zip, its members sit under <folder>/, and
    the per-version checksums are files/<slug>/<version>/SHA256SUMS.txt."""
    found = 0
    for m in M.all_manifests(ROOT / "data_manifests").values():
        url = m.files[0].url if m.files else ""
        if not url.startswith("https://physionet.org/static/published-projects/"):
            continue
        found += 1
        slug, zipname = url.split("/")[-2:]
        assert zipname == f"{m.root}.zip" and m.root.endswith(f"-{m.version}"), m.id
        assert m.sha256sums == f"https://physionet.org/files/{slug}/{m.version}/SHA256SUMS.txt", m.id
        assert m.files[0].extract == "zip"
    assert found == 7


def test_sha256sums_parser_rejects_paths_outside_and_garbage():
    with pytest.raises(M.ChecksumError, match="outside"):
        M.parse_sha256sums(f"{'a' * 64}  ../etc/passwd\n", "x")
    with pytest.raises(M.ChecksumError, match="line 1"):
        M.parse_sha256sums("<html>not found</html>\n", "x")
    assert M.parse_sha256sums(f"{'A' * 64} *sub/f.dat\n", "x") == {"sub/f.dat": "a" * 64}


def test_mednist_md5_is_the_one_monai_publishes():
    """Read from MONAI's installed source (monai/apps/datasets.py) without importing monai.apps (slow)."""
    import importlib.util
    import re

    source = (Path(importlib.util.find_spec("monai").origin).parent / "apps" / "datasets.py").read_text()
    block = source[source.index("class MedNISTDataset"):]
    md5 = re.search(r'md5 = "([0-9a-f]{32})"', block).group(1)
    url = re.search(r'resource = "([^"]+)"', block).group(1)
    f = M.load("mednist", ROOT / "data_manifests").files[0]
    assert (f.md5, f.url, f.checksum_source) == (md5, url, "publisher")


def test_a_verified_cache_reached_through_another_path_is_not_downloaded_again(tmp_path, server, cache, monkeypatch):
    base, www, seen = server
    (www / "toy.zip").write_bytes(_zip_bytes(TOY))
    m = _toy(tmp_path, base)
    root = M.locate("toy", manifest=m)
    (tmp_path / "alias").symlink_to(cache)
    monkeypatch.setenv("MEDREPRO_DATA", str(tmp_path / "alias"))
    M._SEEN.clear()
    n = len(seen)
    again = M.locate("toy", manifest=m)
    assert again == tmp_path / "alias" / "toy" / "toy-1.0" and len(seen) == n and root.is_dir()
    assert M.provenance("toy", again)["source"] == "verified-archive-integrity"
