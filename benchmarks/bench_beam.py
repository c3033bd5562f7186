"""Benchmark of the Beam pipelines (issue 12): ``score``/``tune --runner direct`` against in-process.

On a generated file of ``--rows`` texts (default 1,000,000) drawn from the bundled data
(GoEmotions train/dev/test, Banking77 train/test under ``--data``) and the demo sets,
written to a temporary directory and deleted afterwards (never committed):

1. Scoring (skipped with ``--score-rows 0``): ``cls-explorer score`` in process and with
   ``--runner direct`` (2 worker processes) on the first ``--score-rows`` rows; the Beam
   scores must equal the in-process scores (max abs diff <= 1e-6); rows/s of each and
   their ratio (goal: Beam >= 0.8x).
2. Tuning: a scores file of ``--rows`` rows (each text's scores from one in-process
   scoring of the distinct texts, so the scores are the model's own; Parquet, as
   ``score`` writes it) tuned by ``cls-explorer tune`` in process and with
   ``--runner direct``: thresholds and every metric in thresholds.json must be equal
   (all keys but ``pipeline``); rows/s of each and the ratio (goal >= 0.8x).
3. Memory: the Beam tune's peak resident memory (the sum over the driver and its worker
   processes, sampled every 0.2 s from /proc) at ``--rows`` and at ``--big-rows`` (default
   4,000,000; 0 skips it). Goal: within 15 %.

Every command runs as a fresh process (imports and worker start-up included: what a user
waits for). Ratios are against the in-process run made in the same benchmark run. The
machine's load average is printed: other jobs share its 2 cores.

Run: ``.venv/bin/python benchmarks/bench_beam.py [--rows N] [--score-rows N] [--big-rows N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cls_core.evaluation.demo_data import demo_eval_set  # noqa: E402

CLI = [str(ROOT / ".venv" / "bin" / "cls-explorer")]


def _text_pool(data: Path) -> pd.DataFrame:
    """Distinct texts with GoEmotions truth (";"-joined names; other sources: no label)."""
    names = (data / "goemotions" / "emotions.txt").read_text().split()
    frames = []
    for split in ("train", "dev", "test"):
        ge = pd.read_csv(
            data / "goemotions" / f"{split}.tsv",
            sep="\t",
            header=None,
            names=["text", "ids", "id"],
            quoting=3,
            keep_default_na=False,
        )
        ge["label"] = [";".join(names[int(i)] for i in s.split(",")) for s in ge["ids"]]
        frames.append(ge[["text", "label"]])
    for split in ("train", "test"):
        bk = pd.read_csv(data / "banking77" / f"{split}.csv", keep_default_na=False)
        frames.append(pd.DataFrame({"text": bk["text"], "label": ""}))
    for model in ("goemotions", "banking77", "ekman"):
        demo = demo_eval_set(model)
        label = demo["label"] if model == "goemotions" else ""
        frames.append(pd.DataFrame({"text": demo["text"], "label": label}))
    pool = pd.concat(frames, ignore_index=True)
    pool = pool[pool["text"].str.strip() != ""]
    return pool.drop_duplicates("text").reset_index(drop=True)


class _PeakRss:
    """Peak of the summed RSS of a process and all its descendants, sampled from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._thread.start()

    def _tree_rss(self) -> int:
        parent: dict[int, int] = {}
        rss: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parent[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * self._page
        tree = {self.pid}
        grew = True
        while grew:
            grew = False
            for pid, ppid in parent.items():
                if ppid in tree and pid not in tree:
                    tree.add(pid)
                    grew = True
        return sum(rss.get(p, 0) for p in tree)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._tree_rss())
            self._stop.wait(0.2)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


#: CPU seconds (user + system, the command and every process it waited for) of the last _run
LAST_CPU = [0.0]


def _run(argv: list[str]) -> tuple[float, int]:
    """Run a command; (wall seconds, peak summed RSS in bytes). Fails loudly on exit != 0.

    Its CPU seconds land in ``LAST_CPU[0]`` (on a loaded machine, CPU seconds compare the
    work of two runs better than wall time does).
    """
    before = os.times()
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    meter = _PeakRss(proc.pid)
    _, err = proc.communicate()
    wall = time.perf_counter() - start
    after = os.times()
    LAST_CPU[0] = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    peak = meter.stop()
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(argv)}\n{err[-2000:]}")
    return wall, peak


def _scores_frame(path: Path) -> pd.DataFrame:
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    return pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)


def _bench_score(tmp: Path, texts: pd.DataFrame, model: str) -> dict[str, float]:
    src = tmp / "texts.csv"
    texts.to_csv(src, index=False)
    n = len(texts)
    base = [*CLI, "score", str(src), "--model", model, "--text-column", "text"]
    t_in, m_in = _run([*base, "--out", str(tmp / "inproc.parquet")])
    (tmp / "beam_scores").mkdir()
    t_beam, m_beam = _run([*base, "--out", str(tmp / "beam_scores") + "/", "--runner", "direct"])
    a = _scores_frame(tmp / "inproc.parquet")
    b = _scores_frame(tmp / "beam_scores")
    labels = [c for c in a.columns if c not in ("text", "label")]
    if not len(a) == len(b) == n:
        print(
            f"  ROW COUNT MISMATCH: {n:,} input rows, in-process wrote {len(a):,}, Beam {len(b):,}"
        )
    # a text's scores do not depend on its row: compare per distinct text
    left = a.drop_duplicates("text").set_index("text")[labels]
    right = b.drop_duplicates("text").set_index("text")[labels].reindex(left.index)
    assert not right.isna().any().any(), "texts missing from the Beam output"
    diff = float(np.abs(left.to_numpy() - right.to_numpy()).max())
    print(
        f"score {n:,} rows: in-process {n / t_in:,.0f} rows/s ({t_in:.1f} s, peak {m_in / 2**20:,.0f} MiB); "
        f"Beam direct {n / t_beam:,.0f} rows/s ({t_beam:.1f} s, peak {m_beam / 2**20:,.0f} MiB); "
        f"ratio {t_in / t_beam:.2f}x (goal >= 0.8x); max |diff| {diff:.3g} (goal <= 1e-6)"
    )
    return {"diff": diff, "ratio": t_in / t_beam}


def _pool_scores(tmp: Path, pool: pd.DataFrame, model: str) -> pd.DataFrame:
    src = tmp / "pool.csv"
    pool.to_csv(src, index=False)
    out = tmp / "pool_scores.parquet"
    before = os.times()
    wall, _ = _run(
        [*CLI, "score", str(src), "--model", model, "--text-column", "text", "--out", str(out)]
    )
    after = os.times()
    cpu = after.children_user - before.children_user
    cpu += after.children_system - before.children_system
    print(
        f"scored the {len(pool):,} distinct texts once in process: {len(pool) / wall:,.0f} "
        f"rows/s wall, {len(pool) / cpu:,.0f} rows per CPU-second (all threads: per core)"
    )
    return pq.read_table(out).to_pandas()


def _write_rows(scored: pd.DataFrame, n: int, path: Path, seed: int) -> None:
    """``n`` rows drawn (with replacement) from the scored pool, as a Parquet scores file."""
    rng = np.random.default_rng(seed)
    meta = pq.read_schema(path.parent / "pool_scores.parquet").metadata
    writer = None
    step = 250_000
    for lo in range(0, n, step):
        idx = rng.integers(0, len(scored), min(step, n - lo))
        table = pa.Table.from_pandas(scored.iloc[idx].reset_index(drop=True), preserve_index=False)
        table = table.replace_schema_metadata(meta)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=65_536)
    assert writer is not None
    writer.close()


def _per_core(path: Path) -> None:
    """CPU seconds of the tune pipeline's per-row work (read, parse, combine), no runner.

    Rows per CPU-second is the cost per core a runner pays for these steps (start-up,
    shuffles and the driver's final choice are not in it).
    """
    from cls_core.pipelines.histogram import ScoreHistogram
    from cls_core.pipelines.io import _chunks, inspect_inputs
    from cls_core.pipelines.tune import parse_chunk, plan_tune

    layout = inspect_inputs(str(path), columns=["label"])
    plan = plan_tune(layout)
    rule = "one-vs-rest" if plan.task == "multi-label" else "winner"
    hist = ScoreHistogram(len(plan.labels), rule)  # type: ignore[arg-type]
    cpu = {"read": 0.0, "parse": 0.0, "combine": 0.0}
    n = 0
    for shard, group in layout.work:
        t0 = time.process_time()
        for chunk in _chunks(shard, layout.format, group, 8192, (*plan.labels, plan.truth_column)):
            t1 = time.process_time()
            batch, _ = parse_chunk(chunk, plan)
            t2 = time.process_time()
            assert batch is not None
            hist.add(batch)
            n += len(chunk)
            t3 = time.process_time()
            cpu["read"] += t1 - t0
            cpu["parse"] += t2 - t1
            cpu["combine"] += t3 - t2
            t0 = t3
    t = time.process_time()
    hist.compact()
    cpu["combine"] += time.process_time() - t
    total = sum(cpu.values())
    parts = ", ".join(f"{k} {n / v:,.0f}" for k, v in cpu.items())
    print(f"per core (rows per CPU-second, {n:,} rows): {parts}; all three {n / total:,.0f}")


def _bench_tune(tmp: Path, scored: pd.DataFrame, rows: int, big_rows: int, objective: str) -> None:
    path = tmp / f"scores_{rows}.parquet"
    _write_rows(scored, rows, path, seed=1)
    _per_core(path)
    t_in, m_in = _run(
        [*CLI, "tune", str(path), "--objective", objective, "--out", str(tmp / "a.json")]
    )
    cpu_in = LAST_CPU[0]
    t_beam, m_beam = _run(
        [
            *CLI,
            "tune",
            str(path),
            "--objective",
            objective,
            "--runner",
            "direct",
            "--out",
            str(tmp / "b.json"),
        ]
    )
    cpu_beam = LAST_CPU[0]
    a = json.loads((tmp / "a.json").read_text())
    b = json.loads((tmp / "b.json").read_text())
    same = {k: v for k, v in b.items() if k != "pipeline"} == a
    print(
        f"  CPU seconds (all processes): in-process {cpu_in:.1f}, Beam direct {cpu_beam:.1f}; "
        f"load average now {os.getloadavg()[0]:.1f}"
    )
    print(
        f"tune {rows:,} rows ({objective}): in-process {rows / t_in:,.0f} rows/s ({t_in:.1f} s, peak "
        f"{m_in / 2**20:,.0f} MiB); Beam direct {rows / t_beam:,.0f} rows/s ({t_beam:.1f} s, peak "
        f"{m_beam / 2**20:,.0f} MiB); ratio {t_in / t_beam:.2f}x (goal >= 0.8x); thresholds.json "
        f"equal (all keys but 'pipeline'): {same}"
    )
    if not same:
        bad = [k for k in a if a[k] != b.get(k)]
        print(f"  differing keys: {bad}")
    path.unlink()
    if big_rows:
        big = tmp / f"scores_{big_rows}.parquet"
        _write_rows(scored, big_rows, big, seed=2)
        t_big, m_big = _run(
            [
                *CLI,
                "tune",
                str(big),
                "--objective",
                objective,
                "--runner",
                "direct",
                "--out",
                str(tmp / "c.json"),
            ]
        )
        print(
            f"Beam tune {big_rows:,} rows: {big_rows / t_big:,.0f} rows/s ({t_big:.1f} s); peak memory "
            f"{m_big / 2**20:,.0f} MiB vs {m_beam / 2**20:,.0f} MiB at {rows:,} rows: "
            f"{m_big / m_beam:.2f}x (goal within 15 %)"
        )
        big.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the tune file")
    parser.add_argument(
        "--score-rows",
        type=int,
        default=None,
        help="rows scored both ways (default --rows; 0 skips)",
    )
    parser.add_argument(
        "--big-rows", type=int, default=4_000_000, help="second tune size (0 skips)"
    )
    parser.add_argument("--model", default="goemotions")
    parser.add_argument("--objective", default="f1")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    if not (args.data / "goemotions").is_dir():
        raise SystemExit(f"the bundled data is not under {args.data} (give --data)")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    tmp = Path(tempfile.mkdtemp(prefix="bench-beam-"))
    try:
        pool = _text_pool(args.data)
        print(f"{len(pool):,} distinct texts in the pool")
        score_rows = args.rows if args.score_rows is None else args.score_rows
        if score_rows:
            rng = np.random.default_rng(0)
            texts = pool.iloc[rng.integers(0, len(pool), score_rows)].reset_index(drop=True)
            _bench_score(tmp, texts, args.model)
        scored = _pool_scores(tmp, pool, args.model)
        _bench_tune(tmp, scored, args.rows, args.big_rows, args.objective)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
