"""The paper catalog (``papers.yaml``): load, validate, and answer questions about it."""
from __future__ import annotations

import re

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

STATUSES = ("planned", "smoke", "full-verified")


class CatalogError(ValueError):
    """papers.yaml is inconsistent."""


@dataclass(frozen=True)
class Part:
    id: str
    title: str
    #: Executed notebooks that are not papers (e.g. a simulator's documentation), shown before the papers.
    guides: tuple[str, ...] = ()


@dataclass(frozen=True)
class Paper:
    n: int
    id: str
    part: str
    title: str
    status: str
    notebook: str | None
    authors: tuple[str, ...] = ()
    year: int | None = None
    venue: str | None = None
    arxiv: str | None = None
    code: str | None = None
    datasets: tuple[str, ...] = ()
    verified: bool = False
    #: full mode: GPU memory the notebook needs (GB) and how long it runs on one GPU (minutes), including the
    #: download of its data — estimates that `medrepro campaign` turns into cluster resources; None: not given
    gpu_memory_gb: float | None = None
    full_minutes: int | None = None
    #: why this paper can be reproduced only as a mechanism (its claims rest on a large language model, a closed
    #: model or web-scale pretraining that no notebook here trains); None: an ordinary reproduction
    mechanism_only: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def bib_key(self) -> str:
        return self.id.replace("-", "_")

    @property
    def url(self) -> str | None:
        return f"https://arxiv.org/abs/{self.arxiv}" if self.arxiv else None

    @property
    def implemented(self) -> bool:
        return self.status != "planned"

    def short_citation(self) -> str:
        who = (self.authors[0].split()[-1] + (" et al." if len(self.authors) > 1 else "")) if self.authors else ""
        bits = [b for b in (who, str(self.year) if self.year else "", self.venue or "") if b]
        return ", ".join(bits)


@dataclass(frozen=True)
class Catalog:
    parts: tuple[Part, ...]
    papers: tuple[Paper, ...]

    def by_id(self, paper_id: str) -> Paper:
        for p in self.papers:
            if p.id == paper_id:
                return p
        import difflib

        close = difflib.get_close_matches(paper_id, [p.id for p in self.papers], n=3, cutoff=0.0)
        hint = f"; closest ids: {', '.join(close)} (`medrepro list` shows them all)"
        raise KeyError(f"no paper with id {paper_id!r} in papers.yaml{hint}")

    def in_part(self, part: str) -> list[Paper]:
        return [p for p in self.papers if p.part == part]

    def implemented(self) -> list[Paper]:
        return [p for p in self.papers if p.implemented]

    def guides(self) -> list[str]:
        """Paths of every part's guide notebooks (``book/guides/<name>.ipynb``)."""
        return [g for part in self.parts for g in part.guides]

    def part_title(self, part: str) -> str:
        return next(p.title for p in self.parts if p.id == part)


def catalog_path() -> Path:
    return Path(str(resources.files("medrepro") / "papers.yaml"))


def parse(text: str, source: str = "papers.yaml") -> Catalog:
    """Parse and validate the catalog text."""
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict) or "parts" not in raw or "papers" not in raw:
        raise CatalogError(f"{source}: needs top-level 'parts' and 'papers'")
    parts = tuple(Part(id=p["id"], title=p["title"], guides=tuple(p.get("guides") or ())) for p in raw["parts"])
    for part in parts:
        for g in part.guides:
            if not re.fullmatch(r"book/guides/[a-z0-9-]+\.ipynb", g):
                raise CatalogError(f"{source}: part {part.id}: a guide must be book/guides/<name>.ipynb, got {g!r}")
    part_ids = {p.id for p in parts}
    papers = []
    seen_ids: set[str] = set()
    seen_n: set[int] = set()
    for i, e in enumerate(raw["papers"]):
        where = f"{source}: papers[{i}] ({e.get('id', '?')})"
        for key in ("n", "id", "part", "title", "status"):
            if key not in e:
                raise CatalogError(f"{where}: missing '{key}'")
        if e["id"] in seen_ids:
            raise CatalogError(f"{where}: duplicate id")
        if e["n"] in seen_n:
            raise CatalogError(f"{where}: duplicate n {e['n']}")
        if e["part"] not in part_ids:
            raise CatalogError(f"{where}: unknown part {e['part']!r}")
        if e["status"] not in STATUSES:
            raise CatalogError(f"{where}: status must be one of {STATUSES}")
        nb = e.get("notebook")
        if e["status"] != "planned" and not nb:
            raise CatalogError(f"{where}: status {e['status']} needs a notebook path")
        if nb and e["status"] == "planned":
            raise CatalogError(f"{where}: a planned paper must not list a notebook (a notebook means it is implemented)")
        if nb and nb != f"notebooks/{e['part']}/{e['id']}.ipynb":
            raise CatalogError(f"{where}: notebook must be notebooks/{e['part']}/{e['id']}.ipynb, got {nb}")
        for key, kind in (("gpu_memory_gb", (int, float)), ("full_minutes", int)):
            value = e.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, kind) or value <= 0):
                raise CatalogError(f"{where}: {key} must be a positive number, got {value!r}")
        mech = e.get("mechanism_only")
        if mech is not None and (not isinstance(mech, str) or not mech.strip()):
            raise CatalogError(f"{where}: mechanism_only must say why in words, got {mech!r}")
        seen_ids.add(e["id"])
        seen_n.add(e["n"])
        known = {"n", "id", "part", "title", "status", "notebook", "authors", "year", "venue", "arxiv", "code",
                 "datasets", "verified", "gpu_memory_gb", "full_minutes", "mechanism_only"}
        papers.append(Paper(
            n=int(e["n"]), id=e["id"], part=e["part"], title=e["title"], status=e["status"], notebook=nb,
            authors=tuple(e.get("authors") or ()), year=e.get("year"), venue=e.get("venue"),
            arxiv=str(e["arxiv"]) if e.get("arxiv") else None, code=e.get("code"),
            datasets=tuple(e.get("datasets") or ()), verified=bool(e.get("verified", False)),
            gpu_memory_gb=float(e["gpu_memory_gb"]) if e.get("gpu_memory_gb") is not None else None,
            full_minutes=e.get("full_minutes"), mechanism_only=mech.strip() if mech else None,
            extra={k: v for k, v in e.items() if k not in known},
        ))
    return Catalog(parts=parts, papers=tuple(papers))


@lru_cache(maxsize=1)
def load() -> Catalog:
    """The installed catalog."""
    path = catalog_path()
    return parse(path.read_text(encoding="utf-8"), str(path))
