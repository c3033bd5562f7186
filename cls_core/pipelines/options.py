"""Runner options shared by the pipelines: one function from ``--runner`` + ``--beam-option``.

``direct`` always means Beam's Python ``FnApiRunner`` in multi-process mode
(``--direct_running_mode=multi_processing --direct_num_workers=N``, N = 2 unless a
``--beam-option`` says otherwise). The runner is named by its class path, so Beam's
``DirectRunner`` never tries the Prism runner first (Prism downloads a binary at run time).
``dataflow``, ``flink`` and ``spark`` select Beam's ``DataflowRunner``, ``FlinkRunner`` and
``SparkRunner``; their own settings (project, region, temp location, master address...)
come from ``--beam-option`` flags, checked to be options Beam knows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from apache_beam.options.pipeline_options import PipelineOptions

from cls_core.pipelines import quiet_beam_logging
from cls_core.preview import preview, preview_list

__all__ = [
    "DEFAULT_DIRECT_WORKERS",
    "RUNNERS",
    "RunnerOptionError",
    "pipeline_options",
    "quiet_beam_logging",
]

#: ``--runner`` choice → Beam's runner (a name Beam knows, or a class path).
RUNNERS: dict[str, str] = {
    "direct": "apache_beam.runners.portability.fn_api_runner.FnApiRunner",
    "dataflow": "DataflowRunner",
    "flink": "FlinkRunner",
    "spark": "SparkRunner",
}
#: Worker processes of the ``direct`` runner unless ``--direct_num_workers`` is given.
DEFAULT_DIRECT_WORKERS = 2


class RunnerOptionError(ValueError):
    """``--runner`` or a ``--beam-option`` is not usable; the message says which and why."""


def _flag_name(flag: str) -> str:
    return flag[2:].split("=", 1)[0].replace("-", "_")


def pipeline_options(
    runner: str, beam_options: Sequence[str] = (), *, num_workers: int = DEFAULT_DIRECT_WORKERS
) -> PipelineOptions:
    """Beam ``PipelineOptions`` for ``runner`` plus the user's ``--beam-option`` flags.

    Parameters
    ----------
    runner : {"direct", "dataflow", "flink", "spark"}
    beam_options : sequence of str
        Beam flags, each ``--name=value``, ``--name value`` or ``--name`` (e.g.
        ``--project=my-project``, ``--flink_master=host:8081``, ``--direct_num_workers=4``).
    num_workers : int
        ``direct`` only: worker processes unless ``beam_options`` set
        ``--direct_num_workers``.

    Returns
    -------
    apache_beam.options.pipeline_options.PipelineOptions

    Raises
    ------
    RunnerOptionError
        An unknown runner; a flag that does not start with ``--``; ``--runner`` among the
        flags (choose it with ``runner``); a flag Beam does not know; ``direct`` with a
        running mode other than ``multi_processing``/``in_memory``/``multi_threading``
        or fewer than 1 worker.

    Examples
    --------
    >>> pipeline_options("direct", ["--direct_num_workers=2"])  # doctest: +SKIP
    """
    if runner not in RUNNERS:
        raise RunnerOptionError(
            f"--runner must be one of {', '.join(RUNNERS)}; got {preview(runner)}"
        )
    flags = list(beam_options)
    for i, flag in enumerate(flags):
        if not isinstance(flag, str):
            raise RunnerOptionError(f"--beam-option must be a str flag; got {preview(flag)}")
        if not flag.startswith("--") or len(flag) < 3:
            if i > 0 and flags[i - 1].startswith("--") and "=" not in flags[i - 1]:
                continue  # the value of the flag before it (``--region us-central1``)
            raise RunnerOptionError(
                f"--beam-option must be a Beam flag such as --project=my-project; got {preview(flag)}"
            )
        if _flag_name(flag) == "runner":
            raise RunnerOptionError(
                f"choose the runner with --runner ({', '.join(RUNNERS)}), not --beam-option {preview(flag)}"
            )
    names = {_flag_name(f) for f in flags if f.startswith("--")}
    defaults: list[str] = [f"--runner={RUNNERS[runner]}"]
    if runner == "direct":
        if "direct_running_mode" not in names:
            defaults.append("--direct_running_mode=multi_processing")
        if "direct_num_workers" not in names:
            defaults.append(f"--direct_num_workers={num_workers}")
        if "default_sdk_harness_log_level" not in names:
            # the local workers write their logs to this terminal: errors only
            defaults.append("--default_sdk_harness_log_level=ERROR")
    options = PipelineOptions(defaults + flags)
    previous = logging.getLogger("apache_beam.options.pipeline_options").level
    logging.getLogger("apache_beam.options.pipeline_options").setLevel(logging.ERROR)
    try:
        known: dict[str, Any] = options.get_all_options()
        everything = options.get_all_options(retain_unknown_options=True)
    except SystemExit:  # argparse rejected a value (e.g. a bad choice): no traceback
        raise RunnerOptionError(
            f"Beam rejected the options [{preview_list(flags)}]; see the message above"
        ) from None
    finally:
        logging.getLogger("apache_beam.options.pipeline_options").setLevel(previous)
    unknown = sorted(set(everything) - set(known))
    if unknown:
        raise RunnerOptionError(
            f"unknown Beam option(s) [{preview_list('--' + u for u in unknown)}]; expected "
            "flags of Beam's pipeline options (see `python -m apache_beam.examples.wordcount --help`)"
        )
    if runner == "direct":
        if known["direct_running_mode"] not in ("multi_processing", "in_memory", "multi_threading"):
            raise RunnerOptionError(
                "--direct_running_mode must be multi_processing, multi_threading or in_memory; "
                f"got {preview(known['direct_running_mode'])}"
            )
        if int(known["direct_num_workers"]) < 1:
            raise RunnerOptionError(
                f"--direct_num_workers must be >= 1; got {known['direct_num_workers']}"
            )
    return options
