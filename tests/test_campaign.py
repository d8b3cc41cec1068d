"""Full-mode campaigns (medrepro.campaign): planning, resources, preflight, the shared-cache lock, killed jobs,
and three notebooks through submitit's LocalExecutor on their fixtures.

No cluster here: the SLURM path runs through submitit's own LocalExecutor (real subprocess jobs through submitit's
machinery), the local executor through its process pool, downloads from a server on 127.0.0.1.
"""
from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml

from medrepro import campaign as cp
from medrepro import papers
from medrepro.cli import main
from medrepro.data import manifest
from medrepro.papers import CatalogError, Paper

ROOT = Path(__file__).resolve().parents[1]
CATALOG = papers.load()


@pytest.fixture
def results(tmp_path, monkeypatch):
    """Records go to a temporary results folder (never the repository's)."""
    folder = tmp_path / "results"
    monkeypatch.setenv("MEDREPRO_RESULTS", str(folder))
    return folder


# ------------------------------------------------------------------------------------------- papers.yaml
def test_every_paper_with_a_notebook_has_gpu_memory_and_time_estimates():
    missing = [p.id for p in CATALOG.implemented() if not (p.gpu_memory_gb and p.full_minutes)]
    assert not missing, f"papers.yaml: gpu_memory_gb and full_minutes missing for {missing}"
    assert all(0 < p.gpu_memory_gb <= 80 and 0 < p.full_minutes <= 48 * 60 for p in CATALOG.implemented())


def test_catalog_refuses_a_non_positive_estimate():
    text = (ROOT / "src" / "medrepro" / "papers.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    first = next(e for e in raw["papers"] if e.get("notebook"))
    for key, bad in (("full_minutes", 0), ("gpu_memory_gb", -1), ("full_minutes", "an hour")):
        e = dict(first, **{key: bad})
        broken = dict(raw, papers=[e if x is first else x for x in raw["papers"]])
        with pytest.raises(CatalogError, match=key):
            papers.parse(yaml.safe_dump(broken, allow_unicode=True))


def test_the_book_page_gets_the_gpu_hours_per_part_from_papers_yaml():
    page = (ROOT / "book" / "running-the-collection.md").read_text(encoding="utf-8")
    rendered = cp.render_page(page, CATALOG)
    assert cp.ESTIMATE_MARKER not in rendered
    total = sum(p.full_minutes for p in CATALOG.implemented()) / 60
    assert f"| **all** | **{len(CATALOG.implemented())}** | **{total:.1f}** |" in rendered
    ecg = [p for p in CATALOG.in_part("ecg") if p.implemented]
    assert f"| {CATALOG.part_title('ecg')} | {len(ecg)} | {sum(p.full_minutes for p in ecg) / 60:.1f} |" in rendered
    assert {"file": "book/running-the-collection"} in __import__("medrepro.book").book.toc()["parts"][0]["chapters"]


# ------------------------------------------------------------------------------------------- parsing and resources
def test_slurm_times_memory_and_gpu_types_parse():
    assert [cp.parse_time(t) for t in ("90", "1:30:00", "45:30", "1-00", "1-2:30", "0-0:0:30")] == [90, 90, 46, 1440, 1590, 1]
    assert [cp.parse_mem(m) for m in ("64", "64G", "64GB", "512M", "1T")] == [64, 64, 64, 0.5, 1024]
    assert cp.parse_gpu_types("16=v100, 80=a100_80g") == {16.0: "v100", 80.0: "a100_80g"}
    for bad, fn in (("1:2:3:4", cp.parse_time), ("0", cp.parse_time), ("lots", cp.parse_mem), ("a100", cp.parse_gpu_types),
                    ("16=", cp.parse_gpu_types)):
        with pytest.raises(cp.CampaignError):
            fn(bad)
    assert cp.parse_data(["acdc=/tmp"]) == {"acdc": Path("/tmp").resolve()}
    with pytest.raises(cp.CampaignError, match="DATASET=PATH"):
        cp.parse_data(["/datasets/ACDC"])


def test_resources_come_from_papers_yaml_and_the_flags_override_them(tmp_path):
    paper = CATALOG.by_id("merl")  # 30 min, 16 GB
    res = cp.resources(paper, cp.Options(data_cache=tmp_path))
    assert res.timeout_min == 60 and res.timeout_min >= paper.full_minutes * 1.5 + 15  # 60 = the bucket above 60
    assert (res.gpus, res.mem_gb, res.constraint) == (1, cp.DEFAULT_MEM_GB, None)
    comet = cp.resources(CATALOG.by_id("comet"), cp.Options(data_cache=tmp_path))  # 75 min -> 128.5 -> 180
    assert comet.timeout_min == 180
    opts = cp.Options(data_cache=tmp_path, time="4:00:00", mem_gb=64, gpus_per_job=2, partition="gpu", account="lab",
                      gpu_types={12: "k80", 16: "v100", 80: "a100_80g"})
    res = cp.resources(paper, opts)
    assert (res.timeout_min, res.mem_gb, res.gpus, res.partition, res.constraint) == (240, 64, 2, "gpu", "v100|a100_80g")
    params = res.submitit_parameters()
    assert params["slurm_partition"] == "gpu" and params["slurm_constraint"] == "v100|a100_80g"
    assert params["timeout_min"] == 240 and params["gpus_per_node"] == 2 and params["slurm_account"] == "lab"
    with pytest.raises(cp.CampaignError, match="16 GB of GPU memory"):
        cp.resources(paper, cp.Options(data_cache=tmp_path, gpu_types={12: "k80"}))
    # what sbatch would be given, as submitit writes it (an array of three jobs with these resources)
    from submitit.slurm.slurm import _make_sbatch_string

    sbatch = _make_sbatch_string(command="python -m x", folder=str(tmp_path / "%j"), time=res.timeout_min,
                                 gpus_per_node=res.gpus, mem="64GB", partition=res.partition,
                                 constraint=res.constraint, map_count=3)
    for line in ("#SBATCH --time=240", "#SBATCH --partition=gpu", "#SBATCH --constraint='v100|a100_80g'",
                 "#SBATCH --gpus-per-node=2", "#SBATCH --array=0-2%3"):
        assert line in sbatch


def test_select_names_the_papers_or_says_what_is_wrong():
    assert [p.id for p in cp.select(CATALOG, ["merl", "bcp"])] == ["merl", "bcp"]
    assert {p.part for p in cp.select(CATALOG, part="seg")} == {"seg"}
    assert len(cp.select(CATALOG, all_=True)) == len(CATALOG.implemented())
    planned = next(p for p in CATALOG.papers if not p.implemented)
    for kwargs, match in (({"papers": [planned.id]}, "planned"), ({"papers": ["merll"]}, "closest ids: merl"),
                          ({"part": "nope"}, "no part"), ({}, "exactly one"), ({"papers": ["merl"], "all_": True}, "exactly one")):
        with pytest.raises(cp.CampaignError, match=match):
            cp.select(CATALOG, **kwargs)


def test_a_record_is_up_to_date_only_with_the_same_source_and_the_same_data():
    prov = [{"dataset": "ptbxl", "version": "1.0.3", "source": "verified-publisher-checksums", "path": "/c/ptbxl/p",
             "verified_at": "2026-01-01", "checks": ["..."]}]
    data = cp.fingerprint(prov)
    rec = {"mode": "full", "source_hash": "abc", "provenance": prov}
    assert cp.up_to_date(rec, "abc", data)
    assert not cp.up_to_date(rec, "abd", data)  # the notebook or the package changed
    assert not cp.up_to_date(rec, "abc", None)  # the data are not there yet: they will be downloaded
    for key, value in (("version", "1.0.2"), ("source", "unverified-user-folder"), ("path", "/elsewhere")):
        other = cp.fingerprint([dict(prov[0], **{key: value})])
        assert not cp.up_to_date(rec, "abc", other), key
    assert cp.up_to_date(rec, "abc", cp.fingerprint([dict(prov[0], verified_at="later")]))  # not part of the data
    assert not cp.up_to_date(dict(rec, mode="smoke"), "abc", data) and not cp.up_to_date(None, "abc", data)


# ------------------------------------------------------------------------------------------- fail fast
def test_missing_gated_data_and_unconfirmed_downloads_stop_the_campaign_before_any_job(tmp_path, results):
    cache = tmp_path / "cache"
    cache.mkdir()
    out = io.StringIO()
    camp = cp.Campaign(tmp_path / "campaign")
    rc = camp.run(cp.select(CATALOG, ["bcp", "merl"]), cp.Options(data_cache=cache, gpus=["cpu"]), out=out)
    text = out.getvalue()
    assert rc == 2, text
    acdc = manifest.load("acdc")
    assert "bcp: acdc:" in text and "Steps:" in text and acdc.manual_steps[0][:40] in text
    assert "--data acdc=" in text
    assert "merl: ptbxl" in text and "--yes" in text  # PTB-XL's size is not known: a job cannot confirm it
    assert "Nothing was submitted" in text
    assert not list((tmp_path / "campaign").glob("jobs/*/attempt-*")), "a job was submitted"
    assert not any(cache.iterdir()), "the preflight wrote into the cache"
    # --skip-unavailable: the others would run; here none is left
    out = io.StringIO()
    assert camp.run(cp.select(CATALOG, ["bcp"]), cp.Options(data_cache=cache, gpus=["cpu"], skip_unavailable=True),
                    out=out) == 0
    assert "nothing to run" in out.getvalue()


def test_a_given_data_folder_that_is_incomplete_is_refused_and_left_untouched(tmp_path):
    given = tmp_path / "ACDC"
    (given / "database").mkdir(parents=True)
    before = sorted(p.relative_to(given) for p in given.rglob("*"))
    problems = cp.preflight(CATALOG.by_id("bcp"), cp.Options(data_cache=tmp_path / "c", data_dirs={"acdc": given}))
    assert problems and "incomplete" in problems[0] and f"--data acdc={given}" in problems[0]
    assert sorted(p.relative_to(given) for p in given.rglob("*")) == before


def test_cli_campaign_status_collect_and_estimate(tmp_path, capsys):
    assert main(["campaign", "status", "--dir", str(tmp_path / "none")]) == 2
    assert "no campaign" in capsys.readouterr().out
    assert main(["campaign", "estimate"]) == 0
    assert "| **all** |" in capsys.readouterr().out
    assert main(["campaign", "--papers", "merl", "--executor", "local", "--no-wait", "--dir", str(tmp_path / "c")]) == 2
    assert "--no-wait needs --executor slurm" in capsys.readouterr().out
    assert main(["campaign", "--papers", "merl", "--data", f"ptbxl={tmp_path / 'missing'}"]) == 2
    assert "no such folder" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------- the shared cache lock
def test_file_lock_excludes_a_second_holder(tmp_path):
    path = tmp_path / ".x.lock"
    with manifest.file_lock(path, "x"):
        with pytest.raises(manifest.LockedError):
            with manifest.file_lock(path, "x", wait=False):
                pass
    with manifest.file_lock(path, "x", wait=False):  # free again
        pass


def _slow_server(www: Path, chunks: int = 20, delay: float = 0.05):
    """Serve ``www`` on 127.0.0.1, each file in ``chunks`` pieces ``delay`` s apart; count the GETs per path."""
    gets: dict[str, int] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            gets[self.path] = gets.get(self.path, 0) + 1
            f = www / self.path.lstrip("/")
            if not f.is_file():
                self.send_error(404)
                return
            data = f.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            step = max(1, len(data) // chunks)
            for i in range(0, len(data), step):
                self.wfile.write(data[i:i + step])
                self.wfile.flush()
                time.sleep(delay)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, gets


def test_two_concurrent_fetches_of_one_manifest_into_one_cache_give_one_verified_dataset(tmp_path):
    www, manifests, cache = tmp_path / "www", tmp_path / "manifests", tmp_path / "cache"
    for d in (www, manifests, cache):
        d.mkdir()
    files = {f"toy-1.0/rec{i:03d}.dat": os.urandom(2000) for i in range(40)}
    files["toy-1.0/index.csv"] = b"record\n" + b"\n".join(n.split("/")[1].encode() for n in files)
    with zipfile.ZipFile(www / "toy-1.0.zip", "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    sha = hashlib.sha256((www / "toy-1.0.zip").read_bytes()).hexdigest()
    server, gets = _slow_server(www)
    url = f"http://127.0.0.1:{server.server_address[1]}/toy-1.0.zip"
    (manifests / "toyset.yaml").write_text(yaml.safe_dump({
        "id": "toyset", "title": "toy", "version": "1.0", "access": "open", "licence": "CC0", "citation": "toy",
        "homepage": "http://127.0.0.1/", "root": "toy-1.0", "layout": ["index.csv", "rec000.dat"],
        "files": [{"url": url, "sha256": sha, "checksum_source": "publisher", "size": (www / "toy-1.0.zip").stat().st_size,
                   "extract": "zip"}]}))
    code = ("import json; from medrepro.data import manifest as m; r = m.locate('toyset', progress=False); "
            "print('RESULT', json.dumps({'root': str(r), 'prov': m.provenance('toyset', r)}))")
    env = {**os.environ, "MEDREPRO_DATA": str(cache), "MEDREPRO_MANIFESTS": str(manifests)}
    try:
        procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True) for _ in range(2)]
        outs = [p.communicate(timeout=240)[0] for p in procs]
    finally:
        server.shutdown()
    assert all(p.returncode == 0 for p in procs), outs
    got = [json.loads(next(line for line in o.splitlines() if line.startswith("RESULT "))[7:]) for o in outs]
    assert gets == {"/toy-1.0.zip": 1}, f"the archive was downloaded {gets} times"
    assert any("another process holds" in o for o in outs), outs  # the second one waited for the first
    root = Path(got[0]["root"])
    assert got[1]["root"] == str(root) == str(cache / "toyset" / "toy-1.0")
    assert all(g["prov"]["source"] == "verified-publisher-checksums" for g in got)
    on_disk = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert on_disk == {n.split("/", 1)[1]: d for n, d in files.items()}
    leftovers = [p.name for p in (cache / "toyset").iterdir() if p.name.startswith(".staging") or p.name.endswith(
        (".download", ".partial"))]
    assert not leftovers and sorted(p.name for p in cache.iterdir()) == [".toyset.lock", "toyset"]


# ------------------------------------------------------------------------------------------- retries
class FakeScheduler:
    """Stands in for SLURM: every attempt below ``succeed_at`` ends in TIMEOUT before writing anything."""

    def __init__(self, succeed_at: int):
        self.succeed_at = succeed_at
        self.submitted: list[tuple[str, int, int]] = []

    def submit(self, items):
        for job_dir, attempt, res in items:
            a = cp.attempt_dir(job_dir, attempt)
            a.mkdir(parents=True)
            (a / "log.txt").write_text(f"attempt {attempt} of {job_dir.name}\nsrun: error: *** JOB CANCELLED DUE TO TIME LIMIT ***\n")
            cp._write_json(a / "submitted.json", {"executor": "fake", "job_id": f"10{attempt}", "logs": [str(a / "log.txt")]})
            self.submitted.append((job_dir.name, attempt, res.timeout_min))

    def poll(self):
        for name, attempt, _ in self.submitted:
            if attempt >= self.succeed_at:
                job_dir = self.folder / "jobs" / name
                if not (job_dir / "record.json").exists():
                    cp._write_json(job_dir / "record.json", {"paper": name, "mode": "full", "campaign": {"attempt": attempt}})

    def probe(self, job_dir, attempt):
        return (False, "SLURM state TIMEOUT") if attempt < self.succeed_at else (True, "RUNNING")

    def shutdown(self):
        pass


@pytest.mark.parametrize("succeed_at", [2, 3])
def test_a_job_that_hits_its_time_limit_is_retried_once_with_twice_the_time(tmp_path, succeed_at):
    camp = cp.Campaign(tmp_path / "campaign")
    opts = cp.Options(data_cache=tmp_path / "cache", poll_s=0)
    paper = CATALOG.by_id("merl")
    job_dir = camp.folder / "jobs" / paper.id
    res = cp.resources(paper, opts)
    camp._write_job(paper, job_dir, opts, res, ROOT)
    fake = FakeScheduler(succeed_at)
    fake.folder = camp.folder
    fake.submit([(job_dir, 1, res)])
    out = io.StringIO()
    rc = camp._follow({paper.id: job_dir}, fake, opts, lambda *a: print(*a, file=out))
    assert fake.submitted == [("merl", 1, 60), ("merl", 2, 120)]  # one retry, with twice the time; never a third
    assert json.loads((job_dir / "job.json").read_text())["resources"]["timeout_min"] == 120
    assert "ended before it started (SLURM state TIMEOUT)" in json.loads(
        (job_dir / "attempt-1" / "finished.json").read_text())["error"]
    if succeed_at == 2:
        assert rc == 0 and cp.job_status(job_dir).state == "done"
    else:
        assert rc == 1 and cp.job_status(job_dir).state == "failed"
        assert "merl: FAILED after 2 attempt(s)" in out.getvalue() and "JOB CANCELLED DUE TO TIME LIMIT" in out.getvalue()


# ------------------------------------------------------------------------------------------- the local pool
def test_local_pool_gives_each_job_one_gpu_and_runs_one_per_gpu(tmp_path):
    """Five jobs on two GPUs: never more than two at once, each sees exactly one device, the two at once differ."""
    fake_job = ("import json, os, sys, time; from pathlib import Path; a = Path(sys.argv[1]) / f'attempt-{sys.argv[2]}'; "
                "t0 = time.time(); time.sleep(0.6); "
                "(a / 'seen.json').write_text(json.dumps({'gpu': os.environ['CUDA_VISIBLE_DEVICES'], 't0': t0, "
                "'t1': time.time()}))")
    pool = cp.LocalPool(["0", "1"], ROOT)
    pool.command = [sys.executable, "-c", fake_job]
    jobs = [tmp_path / f"p{i}" for i in range(5)]
    res = cp.Resources(timeout_min=1, gpus=1, mem_gb=1, cpus=1)
    pool.submit([(j, 1, res) for j in jobs])
    assert len(pool.busy) == 2 and len(pool.queue) == 3
    deadline = time.time() + 60
    while (pool.busy or pool.queue) and time.time() < deadline:
        pool.poll()
        time.sleep(0.05)
    seen = [json.loads((j / "attempt-1" / "seen.json").read_text()) for j in jobs]
    assert {s["gpu"] for s in seen} == {"0", "1"}
    for s in seen:  # two jobs never share a GPU at the same time, and never more than two run at once
        overlapping = [o for o in seen if o is not s and o["t0"] < s["t1"] and s["t0"] < o["t1"]]
        assert all(o["gpu"] != s["gpu"] for o in overlapping)
        assert sum(o["t0"] <= s["t0"] < o["t1"] for o in seen) <= 2
    assert all(pool.probe(j, 1) == (False, "exit code 0") for j in jobs)
    cpu = cp.LocalPool([], ROOT)
    assert cpu.slots == [None]  # no GPU: one job at a time, and it sees none


def test_local_gpus_follow_the_flag_and_cuda_visible_devices(monkeypatch):
    assert cp.local_gpus("cpu") == []
    assert [g for g, _ in cp.local_gpus("2,3")] == ["2", "3"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,0")
    assert [g for g, _ in cp.local_gpus()] == ["1", "0"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert cp.local_gpus() == []


# ------------------------------------------------------------------------------------------- killed jobs
def _toy_notebook(path: Path, paper: str, hang_always: bool) -> None:
    """A notebook that stages a complete-looking record, then hangs (on its first attempt, or always)."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('MODE = "smoke"\nSEED = 0\nDATA_DIR = None\nDEVICE = "auto"\nBUDGET_S = None')
    params.metadata["tags"] = ["parameters"]
    body = nbformat.v4.new_code_cell(f"""
import json, os, pathlib, time
staging = pathlib.Path(os.environ["MEDREPRO_RESULTS"])
(staging / "full").mkdir(parents=True, exist_ok=True)
record = {{"paper": "{paper}", "mode": MODE, "on_fixture": False, "provenance": [],
          "claims": [{{"kind": "R", "statement": "toy", "value": 1.0, "passed": True}}]}}
(staging / "full" / "{paper}.json").write_text(json.dumps(record))
print("record staged", flush=True)
if {hang_always} or "attempt-1" in str(staging):
    (staging / "HANGING").write_text(str(os.getpid()))
    print("now hanging in the middle of the run", flush=True)
    time.sleep(600)
print("finished")
""")
    nb.cells = [params, body]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


def _toy_paper(n: int, pid: str, notebook: Path) -> Paper:
    return Paper(n=n, id=pid, part="ecg", title=pid, status="smoke", notebook=str(notebook), full_minutes=1,
                 gpu_memory_gb=1)


@pytest.mark.notebook
def test_a_killed_job_is_detected_retried_and_leaves_no_complete_looking_record(tmp_path, results):
    for pid, always in (("toy-killed-once", False), ("toy-killed-twice", True)):
        _toy_notebook(tmp_path / f"{pid}.ipynb", pid, always)
    toys = [_toy_paper(901, "toy-killed-once", tmp_path / "toy-killed-once.ipynb"),
            _toy_paper(902, "toy-killed-twice", tmp_path / "toy-killed-twice.ipynb")]
    folder = tmp_path / "campaign"
    camp = cp.Campaign(folder)
    opts = cp.Options(executor="local", gpus=["cpu"], data_cache=tmp_path / "cache", poll_s=0.2)
    out, rc = io.StringIO(), []
    runner = threading.Thread(target=lambda: rc.append(camp.run(toys, opts, out=out)))
    runner.start()
    killed: set[Path] = set()
    deadline = time.time() + 400
    while runner.is_alive() and time.time() < deadline:  # kill every attempt that hangs: the job and its kernel
        for flag in folder.glob("jobs/*/attempt-*/staging/HANGING"):
            a = flag.parent.parent
            if a in killed:
                continue
            # kill only once the hang message has reached the attempt's log (it travels kernel -> papermill -> file
            # after the flag is written; on a loaded machine a kill at once could beat it), at most 20 s
            log = a / "log.txt"
            waited = time.time()
            while (not log.is_file() or b"now hanging" not in log.read_bytes()) and time.time() - waited < 20:
                time.sleep(0.1)
            job_pid = int(json.loads((a / "submitted.json").read_text())["pid"])
            os.killpg(job_pid, signal.SIGKILL)
            os.kill(int(flag.read_text()), signal.SIGKILL)
            killed.add(a)
        time.sleep(0.1)
    runner.join(timeout=60)
    text = out.getvalue()
    assert rc == [1], text
    assert {a.relative_to(folder).as_posix() for a in killed} == {
        "jobs/toy-killed-once/attempt-1", "jobs/toy-killed-twice/attempt-1", "jobs/toy-killed-twice/attempt-2"}
    once, twice = folder / "jobs" / "toy-killed-once", folder / "jobs" / "toy-killed-twice"
    # detected and retried: the killed attempt is failed with the signal, the second attempt completed
    assert "toy-killed-once: attempt 1 FAILED" in text and "killed by signal 9" in text
    rec = json.loads((once / "record.json").read_text())
    assert rec["campaign"]["attempt"] == 2 and rec["source_hash"]
    # no record that looks complete: the killed attempts' staged records are renamed, no record.json for twice
    assert not (twice / "record.json").exists()
    for a in killed:
        assert not list((a / "staging").glob("*/*.json")), f"{a} left a record"
        assert list((a / "staging").glob("*/*.json.incomplete"))
        assert json.loads((a / "finished.json").read_text())["ok"] is False
    # reported with the end of its log
    assert "toy-killed-twice: FAILED after 2 attempt(s)" in text and "now hanging in the middle of the run" in text
    statuses = {s.paper: s for s in camp.status()}
    assert (statuses["toy-killed-once"].state, statuses["toy-killed-twice"].state) == ("done", "failed")
    assert statuses["toy-killed-twice"].attempt == 2 and "signal 9" in statuses["toy-killed-twice"].reason
    assert "it failed every attempt" in camp.status_text()
    collected = camp.collect()
    assert collected["collected"] == ["toy-killed-once"] and collected["not_done"] == [("toy-killed-twice", "failed")]
    assert sorted(p.name for p in (results / "full").iterdir()) == ["toy-killed-once.json"]


# ------------------------------------------------------------------------------------------- notebooks on submitit
FIXTURE_PAPERS = ("merl", "monai-generative", "multiscale-guided-attention")  # cheap full runs on a fixture (45-55 s each, loaded CPU)


@pytest.mark.notebook
def test_submitit_runs_three_notebooks_in_full_mode_on_fixtures_and_collect_fills_the_dashboard(tmp_path, results):
    from medrepro.data import datasets

    chosen = cp.select(CATALOG, list(FIXTURE_PAPERS))
    data_dirs = {p.datasets[0]: datasets.get(p.datasets[0]).make_fixture(tmp_path / p.datasets[0], seed=0)
                 for p in chosen}
    folder = tmp_path / "campaign"
    camp = cp.Campaign(folder)
    opts = cp.Options(executor="slurm", cluster="local", data_cache=tmp_path / "cache", data_dirs=data_dirs,
                      budget_s=10, poll_s=1.0)
    out = io.StringIO()
    start = time.perf_counter()
    rc = camp.run(chosen, opts, out=out)
    wall = time.perf_counter() - start
    text = out.getvalue()
    assert rc == 0, text + "\n".join(cp.log_tail(folder / "jobs" / p, 1) for p in FIXTURE_PAPERS)
    print(f"three notebooks through submitit's LocalExecutor: {wall:.0f} s")
    for p in FIXTURE_PAPERS:
        sub = json.loads((folder / "jobs" / p / "attempt-1" / "submitted.json").read_text())
        assert sub["executor"] == "submitit" and Path(sub["logs"][0]).is_file()  # submitit's own job log
        rec = json.loads((folder / "jobs" / p / "record.json").read_text())
        assert rec["on_fixture"] is True and rec["source_hash"] and rec["provenance"][0]["source"] == "fixture"
    assert [s.state for s in camp.status()] == ["done"] * 3
    # a fixture record is not real data: left out unless asked for
    left_out = camp.collect()
    assert left_out["fixtures"] == sorted(FIXTURE_PAPERS) and left_out["collected"] == []
    assert not any((results / "full").iterdir())
    got = camp.collect(include_fixtures=True)
    assert sorted(got["collected"]) == sorted(FIXTURE_PAPERS)
    dashboard = Path(got["dashboard"]).read_text(encoding="utf-8")
    for p in FIXTURE_PAPERS:
        assert (results / "full" / f"{p}.json").is_file()
        row = next(line for line in dashboard.splitlines() if f"[{p}](" in line)
        assert "ran on a fixture only" in row, row
    # the same command again: every record is up to date, nothing is submitted
    out = io.StringIO()
    assert camp.run(chosen, opts, out=out) == 0
    assert out.getvalue().count("is up to date") == 3 and "nothing to run" in out.getvalue()
    assert all(cp.attempts(folder / "jobs" / p) == [1] for p in FIXTURE_PAPERS)
