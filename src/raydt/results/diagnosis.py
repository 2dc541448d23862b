"""The parts of a result that ``raydt doctor`` (checks) and ``raydt explain`` (causes, evidence) print."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from raydt.results.fields import ResultModel, opt


class Check(ResultModel):
    """One check of ``raydt doctor``: what it looked at, what it found, what to do."""

    name: str = Field(description="What was checked: python, ray, torch, gpu, shm, storage, memory, port, ...")
    status: Literal["ok", "warn", "fail"] = Field(description="ok; warn: may cause trouble; fail: cannot run.")
    found: str = Field(description="What was found (versions, sizes, addresses; never a token).")
    fix: str = Field(description="What to do about a warn or fail ('' when ok).")


class Evidence(ResultModel):
    """A line that points at a cause (``raydt explain``)."""

    file: str = Field(description="The file read (absolute path; from a bundle: BUNDLE:member).")
    line: int = Field(description="Its line number, 1-based.")
    text: str = Field(description="The line (shortened).")


class Cause(ResultModel):
    """A root cause ``raydt explain`` found, with its evidence; causes are ordered by likelihood."""

    code: str = Field(
        description="raydt's error codes plus OUT_OF_MEMORY, CUDA_OOM, WORKER_DIED, OBJECT_STORE_FULL, PICKLING_ERROR, "
        "PLACEMENT_GROUP_PENDING, COLLECTIVE_TIMEOUT, MODULE_NOT_FOUND_ON_WORKERS, VERSION_MISMATCH."
    )
    summary: str = Field(description="What happened, across trials ('3 of 4 trials died with ...').")
    fix: str = Field(description="What to do about it.")
    trials: int | None = opt("Trials (or Train runs) this cause ended.")
    total_trials: int | None = opt("Trials found in the experiment.")
    evidence: list[Evidence] = Field(description="Where it shows (the first lines found).")
