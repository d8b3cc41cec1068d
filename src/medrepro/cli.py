"""Command line: ``medrepro list | run ID [--mode] | run --all | seeds ID | dashboard | toc | book | bench | campaign``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _root() -> Path:
    from .paths import repo_root

    root = repo_root()
    if root is None:
        sys.exit("medrepro: run this inside a medrepro checkout (could not find src/medrepro/papers.yaml)")
    return root


def _paper(cat, paper_id: str):
    """The catalog entry, or exit with one line naming the closest ids (no traceback)."""
    try:
        return cat.by_id(paper_id)
    except KeyError as exc:
        sys.exit(f"medrepro: {exc.args[0]}")


def cmd_seeds(args: argparse.Namespace) -> int:
    from . import seeds
    from .papers import load

    _root()
    cat = load()
    ids = [p.id for p in cat.implemented()] if args.all else [_paper(cat, i).id for i in args.ids]
    bad = []
    for paper in ids:
        if args.stale_only and not any("stale" in m or "no seed record" in m for m in seeds.problems(paper)):
            print(f"{paper}: seed record is current, skipped")
            continue
        if args.other_cpu:
            rec = seeds.run(paper, seeds=range(args.start, args.start + args.n), timeout=args.timeout,
                            other_cpu=True)
            issues = [f"seed {r['seed']}: {c['kind']} claim failed: {c['statement'][:100]} (value {c['value']}, "
                      f"interval {c['ci']}, threshold {c.get('direction')} {c.get('threshold')} on {c.get('bound')})"
                      for r in rec["runs"] for c in r["claims"] if c["kind"] in ("R", "V") and c["passed"] is False]
            issues += [f"seed {r['seed']}: {r['error'][:300]}" for r in rec["runs"]
                       if r["error"] and not any(c["passed"] is False for c in r["claims"])]
            for line in issues:
                print(f"  {line}")
            print(f"{paper} on another CPU's kernels ({rec['cpu_capability']}): "
                  f"{'every asserted claim holds on every seed' if not issues else 'PROBLEMS'} "
                  f"-> results/seeds/other-cpu/{paper}.json (not committed)")
            bad += issues
            continue
        seeds.run(paper, seeds=range(args.start, args.start + args.n), timeout=args.timeout, add=args.add)
        issues = seeds.problems(paper, required=range(args.start, args.start + args.n))
        for line in issues:
            print(f"  {line}")
        print(f"{paper}: {'every asserted claim holds on every seed' if not issues else 'PROBLEMS'} "
              f"-> results/seeds/{paper}.json")
        bad += issues
    return 1 if bad else 0


def cmd_list(args: argparse.Namespace) -> int:
    from .papers import load

    cat = load()
    for part in cat.parts:
        print(f"\n{part.title}")
        for p in cat.in_part(part.id):
            if args.implemented and not p.implemented:
                continue
            print(f"  {p.n:>3}  {p.id:<30} {p.status:<14} {p.title[:70]}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .papers import load
    from .runner import execute, is_fresh

    root = _root()
    cat = load()
    papers = cat.implemented() if args.all else [_paper(cat, i) for i in args.ids]
    if not papers:
        print("nothing to run")
        return 0
    params = {}
    env = {}  # the kernel inherits these: where downloads go, and the confirmation of large ones
    if args.data_dir:  # read only: it must exist; medrepro never creates or writes into it
        data_dir = Path(args.data_dir).expanduser().resolve()
        if not data_dir.is_dir():
            print(f"medrepro run: --data-dir {data_dir} does not exist or is not a folder (it is read only; "
                  "leave it out to download open data into the cache, or use --download-dir)")
            return 2
        params["DATA_DIR"] = str(data_dir)
    if getattr(args, "download_dir", None):
        download_dir = Path(args.download_dir).expanduser().resolve()
        if not download_dir.is_dir():
            print(f"medrepro run: --download-dir {download_dir} does not exist; create it first")
            return 2
        env["MEDREPRO_DATA"] = str(download_dir)
    if getattr(args, "yes", False):
        env["MEDREPRO_YES"] = "1"
    if args.budget is not None:
        params["BUDGET_S"] = args.budget
    failures = []
    for p in papers:
        if p.notebook is None:
            print(f"{p.id}: planned, no notebook")
            failures.append(p.id)
            continue
        nb = root / p.notebook
        if args.mode == "smoke" and not args.force and is_fresh(nb, "smoke", root):
            print(f"{p.id}: executed copy is up to date, skipped (use --force to run again)")
            continue
        print(f"{p.id}: running in {args.mode} mode ...", flush=True)
        try:
            out = execute(nb, mode=args.mode, parameters=params, timeout=args.timeout, env=env)
            print(f"{p.id}: ok in {out['wall_s']:.1f} s -> {out['output']}")
        except Exception as exc:  # report every failure, then exit non-zero
            print(f"{p.id}: FAILED — {type(exc).__name__}: {str(exc)[-2000:]}")
            failures.append(p.id)
    # Guides (executed documentation pages, no record) run with --all, in smoke mode only.
    for guide in (cat.guides() if args.all and args.mode == "smoke" else []):
        nb = root / guide
        if not args.force and is_fresh(nb, "smoke", root, needs_record=False):
            print(f"{guide}: executed copy is up to date, skipped")
            continue
        print(f"{guide}: running ...", flush=True)
        try:
            out = execute(nb, mode="smoke", timeout=args.timeout)
            print(f"{guide}: ok in {out['wall_s']:.1f} s -> {out['output']}")
        except Exception as exc:
            print(f"{guide}: FAILED — {type(exc).__name__}: {str(exc)[-2000:]}")
            failures.append(guide)
    if failures:
        print(f"failed: {', '.join(failures)}")
        return 1
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    from .book import dashboard_markdown

    text = dashboard_markdown()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


def cmd_toc(args: argparse.Namespace) -> int:
    from .book import toc_text

    root = _root()
    text = toc_text()
    if args.check:
        current = (root / "_toc.yml").read_text(encoding="utf-8") if (root / "_toc.yml").exists() else ""
        if current != text:
            print("_toc.yml is out of date: run `medrepro toc`")
            return 1
        print("_toc.yml is up to date")
        return 0
    (root / "_toc.yml").write_text(text, encoding="utf-8")
    print(f"wrote {root / '_toc.yml'}")
    return 0


def cmd_book(args: argparse.Namespace) -> int:
    from .book import build

    root = _root()
    if not args.no_run:
        rc = cmd_run(argparse.Namespace(all=True, ids=[], mode="smoke", data_dir=None, budget=None,
                                        timeout=args.timeout, force=False))
        if rc != 0:
            return rc
    out = build(root, strict=not args.no_strict)
    print(f"book built: {out / 'index.html'}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import bench_table

    table, ok = bench_table()
    print(table)
    return 0 if ok or not args.strict else 1


def cmd_campaign(args: argparse.Namespace) -> int:
    """``medrepro campaign [run] | status | collect | estimate``: full-mode campaigns (see medrepro.campaign)."""
    from . import campaign as cp
    from .papers import load

    folder = Path(args.dir).expanduser() if args.dir else cp.default_folder()
    if args.action == "estimate":
        print(cp.estimate_table(load()))
        return 0
    if args.action in ("status", "collect"):
        if not (folder / "jobs").is_dir():
            print(f"medrepro campaign {args.action}: no campaign in {folder} (give its folder with --dir)")
            return 2
        camp = cp.Campaign(folder)
        if args.action == "status":
            statuses = camp.status()
            print(camp.status_text(statuses))
            return 1 if any(s.state == "failed" for s in statuses) else 0
        out = camp.collect(include_fixtures=args.include_fixtures,
                           dashboard=Path(args.output) if args.output else None)
        print(f"collected {len(out['collected'])} record(s) into {out['results']}: {', '.join(out['collected']) or '-'}")
        if out["fixtures"]:
            print(f"left out (ran on a fixture, not real data; --include-fixtures to collect): {', '.join(out['fixtures'])}")
        for paper, state in out["not_done"]:
            print(f"{paper}: {state}, no complete record")
        print(f"dashboard regenerated: {out['dashboard']}")
        return 0
    _root()
    try:
        papers = cp.select(load(), args.papers or (), args.part, args.all)
        opts = cp.Options(
            executor=args.executor, data_dirs=cp.parse_data(args.data or ()), yes=args.yes, prefetch=args.prefetch,
            budget_s=args.budget, cell_timeout_s=args.timeout, force=args.force,
            skip_unavailable=args.skip_unavailable, poll_s=args.poll, time=args.time, gpus_per_job=args.gpus_per_job,
            mem_gb=cp.parse_mem(args.mem) if args.mem else None, cpus=args.cpus, partition=args.partition,
            account=args.account, qos=args.qos, gpu_types=cp.parse_gpu_types(args.gpu_types) if args.gpu_types else {},
            setup=list(args.setup or ()), max_parallel=args.max_parallel,
            gpus=None if args.gpus is None else [g for g in args.gpus.split(",") if g.strip()] or ["cpu"])
        if args.data_cache:
            opts.data_cache = Path(args.data_cache).expanduser().resolve()
        for ds, path in opts.data_dirs.items():
            if not path.is_dir():
                print(f"medrepro campaign: --data {ds}={path}: no such folder (it is read only; medrepro never creates it)")
                return 2
        if args.time:
            cp.parse_time(args.time)
        return cp.Campaign(folder).run(papers, opts, wait=not args.no_wait)
    except cp.CampaignError as exc:
        print(f"medrepro campaign: {exc}")
        return 2
    except Exception as exc:
        from .data.manifest import LockedError

        if isinstance(exc, LockedError):
            print(f"medrepro campaign: {exc} — another `medrepro campaign` drives {folder}; "
                  "follow it with `medrepro campaign status`")
            return 2
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medrepro", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list the papers and their status")
    p.add_argument("--implemented", action="store_true", help="only papers with a notebook")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("run", help="execute notebooks with papermill")
    p.add_argument("ids", nargs="*", help="paper ids")
    p.add_argument("--all", action="store_true", help="every implemented notebook")
    p.add_argument("--mode", choices=["smoke", "full"], default="smoke")
    p.add_argument("--data-dir", help="full mode: the folder that holds the dataset (read only; must exist)")
    p.add_argument("--download-dir", help="full mode: an existing folder to download open data into, instead of "
                   "the cache ($MEDREPRO_DATA or ~/.cache/medrepro)")
    p.add_argument("--yes", action="store_true", help="full mode: confirm downloads over 1 GB or of unknown size")
    p.add_argument("--budget", type=float, help="training budget in seconds (BUDGET_S)")
    p.add_argument("--timeout", type=int, default=3600, help="per-cell timeout in seconds")
    p.add_argument("--force", action="store_true", help="run even if the executed copy is up to date")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("seeds", help="run notebooks in smoke mode on seeds 0..n-1 (or start..start+n-1); write "
                                     "results/seeds/<id>.json")
    p.add_argument("ids", nargs="*", help="paper ids")
    p.add_argument("--all", action="store_true", help="every implemented notebook")
    p.add_argument("--n", type=int, default=5, help="number of seeds, from --start (default 5)")
    p.add_argument("--start", type=int, default=0,
                   help="first seed (default 0); for a design judged again on fresh seeds after seeds 0-9 were "
                        "spent. The record then must hold start..start+4, and says so in its 'start' field")
    p.add_argument("--stale-only", action="store_true", help="only papers whose record is missing or stale")
    p.add_argument("--other-cpu", action="store_true",
                   help="run with another CPU's kernels (AVX2 on an AVX512 machine) and report whether every R and "
                        "V claim still holds; writes results/seeds/other-cpu/<id>.json, not the committed record")
    p.add_argument("--timeout", type=int, default=600, help="per-cell timeout in seconds")
    p.add_argument("--add", action="store_true",
                   help="join the runs to the committed record of the same code instead of replacing it (e.g. "
                        "seeds 0-4 after a design was judged on --start 20)")
    p.set_defaults(func=cmd_seeds)
    p = sub.add_parser("dashboard", help="print the reproduction dashboard (markdown)")
    p.add_argument("-o", "--output")
    p.set_defaults(func=cmd_dashboard)
    p = sub.add_parser("toc", help="regenerate _toc.yml from papers.yaml")
    p.add_argument("--check", action="store_true")
    p.set_defaults(func=cmd_toc)
    p = sub.add_parser("book", help="run stale notebooks (smoke), then build the book into _build/html")
    p.add_argument("--no-run", action="store_true", help="use the executed copies as they are")
    p.add_argument("--no-strict", action="store_true")
    p.add_argument("--timeout", type=int, default=600)
    p.set_defaults(func=cmd_book)
    p = sub.add_parser("bench", help="smoke wall time and memory per notebook, against the budget")
    p.add_argument("--strict", action="store_true", help="exit 1 when over budget")
    p.set_defaults(func=cmd_bench)
    p = sub.add_parser("campaign", help="full mode for many notebooks on SLURM (submitit) or the local GPUs; "
                       "`campaign status`, `campaign collect`, `campaign estimate`",
                       description="Run notebooks in full mode as jobs: `medrepro campaign --all --executor slurm`; "
                       "`medrepro campaign status`; `medrepro campaign collect`. See book/running-the-collection.md.")
    p.add_argument("action", nargs="?", default="run", choices=["run", "status", "collect", "estimate"],
                   help="run (default): plan, submit and follow the jobs; status: queued/running/done/failed; "
                   "collect: records into results/full/ and the dashboard; estimate: GPU-hours per part")
    p.add_argument("--mode", choices=["full"], default="full", help="campaigns run full mode")
    p.add_argument("--papers", nargs="+", metavar="ID", help="paper ids")
    p.add_argument("--part", help="every notebook of one part (ecg, seg, ...)")
    p.add_argument("--all", action="store_true", help="every notebook")
    p.add_argument("--executor", choices=["local", "slurm"], default="local",
                   help="local: one notebook per visible GPU (one at a time without a GPU); slurm: one job per "
                   "notebook through submitit (job arrays), needs the `cluster` extra")
    p.add_argument("--dir", help="the campaign folder (default: campaigns/full in the checkout)")
    p.add_argument("--data", action="append", metavar="DATASET=PATH",
                   help="a dataset's folder, read only (gated data), e.g. --data acdc=/datasets/ACDC; repeatable")
    p.add_argument("--data-cache", help="the shared download cache the jobs read and fill (MEDREPRO_DATA; "
                   "default $MEDREPRO_DATA or ~/.cache/medrepro)")
    p.add_argument("--yes", action="store_true", help="confirm downloads over 1 GB or of unknown size")
    p.add_argument("--prefetch", action="store_true", help="download the open datasets here before submitting")
    p.add_argument("--budget", type=float, help="training budget in seconds passed to every notebook (BUDGET_S)")
    p.add_argument("--timeout", type=int, default=6 * 3600, help="per-cell timeout in seconds (catches hangs)")
    p.add_argument("--force", action="store_true", help="run notebooks whose record is up to date")
    p.add_argument("--skip-unavailable", action="store_true",
                   help="run the others when some notebooks' data are missing (default: submit nothing)")
    p.add_argument("--no-wait", action="store_true", help="slurm: submit and return (run again to retry failures)")
    p.add_argument("--poll", type=float, default=30.0, help="seconds between two looks at the jobs")
    p.add_argument("--partition", help="slurm partition")
    p.add_argument("--time", help="slurm time limit for every job (minutes or HH:MM:SS; default from papers.yaml)")
    p.add_argument("--gpus-per-job", type=int, default=1)
    p.add_argument("--mem", help="host memory per job (e.g. 64G; default 32G)")
    p.add_argument("--cpus", type=int, default=8, help="CPU cores per job")
    p.add_argument("--account", help="slurm account")
    p.add_argument("--qos", help="slurm quality of service")
    p.add_argument("--gpu-types", help="GPU memory in GB = slurm feature, e.g. 16=v100,40=a100_40g,80=a100_80g: each job "
                   "asks (--constraint) for the GPUs large enough for its paper (papers.yaml)")
    p.add_argument("--setup", action="append", help="a shell line run before each slurm job (module load ...)")
    p.add_argument("--max-parallel", type=int, help="slurm: jobs of one array running at once")
    p.add_argument("--gpus", help="local: the GPUs to use, e.g. 0,1 (default: every visible GPU; 'cpu': none)")
    p.add_argument("--include-fixtures", action="store_true", help="collect: also records of runs on fixtures")
    p.add_argument("-o", "--output", help="collect: where to write the dashboard (default <campaign>/dashboard.md)")
    p.set_defaults(func=cmd_campaign)
    args = parser.parse_args(argv)
    if args.command in ("run", "seeds") and not args.all and not args.ids:
        parser.error(f"{args.command} needs paper ids or --all")
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
