"""The failure classes ``raydt explain`` knows: each a code, the patterns that show it in Ray's and the trainer's
output, its precedence (a root cause before its consequences: an OOM kill also shows as a dead actor), and the fix.

The patterns are Ray 2.60's own messages (``ray/exceptions.py``, the raylet's memory monitor, Tune's resource
warning, Ray Train's worker-group errors), PyTorch's and NCCL/gloo's, and Python's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from raydt.errors import (
    DataError,
    InfeasibleResourcesError,
    MetricNotReportedError,
    MissingDependencyError,
    NanMetricError,
    PendingTimeoutError,
    PortInUseError,
    RayConnectionError,
    SpecError,
    SpecFileError,
    UserCodeError,
    WorkerDiedError,
    WorkerOOMError,
)


@dataclass(frozen=True)
class Rule:
    code: str
    label: str  # what the failure is, in a summary: "ran out of memory (MemoryError / Ray's OOM killer)"
    pattern: re.Pattern[str]
    fix: str
    precedence: int  # lower: more likely the root cause when several classes show in one failure


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{a})" for a in alternatives))


RULES: tuple[Rule, ...] = (
    Rule(
        "CUDA_OOM",
        "ran out of GPU memory (CUDA out of memory)",
        _rx(
            r"CUDA out of memory",
            r"torch\.(?:cuda\.)?OutOfMemoryError",
            r"CUBLAS_STATUS_ALLOC_FAILED",
            r"cudaErrorMemoryAllocation",
            r"CUDA error: out of memory",
        ),
        "Lower the batch size (trainLoopConfig.batchSize) or the model size, use mixed precision, give each "
        "worker or trial a whole GPU (config.resourcesPerWorker.gpu: 1), or lower tuneConfig.maxConcurrentTrials "
        "so fewer trials share a GPU.",
        0,
    ),
    Rule(
        WorkerOOMError.code,
        "ran out of memory",
        _rx(
            r"ray\.exceptions\.OutOfMemoryError",
            r"\bOutOfMemoryError\b",
            r"running low on memory",
            r"exceeds the memory usage threshold",
            r"\bMemoryError\b",
            r"oom-kill",
            r"Out of memory: Killed process",
            r"Cannot allocate memory",
            r"actual memory used=",  # the memory monitor's list of what it killed, with each one's memory
        ),
        WorkerOOMError.default_hint,
        1,
    ),
    Rule(
        "OBJECT_STORE_FULL",
        "filled Ray's object store",
        _rx(
            r"ObjectStoreFullError",
            r"object store is full",
            r"Failed to put object",
            r"ObjectStoreFull",
            r"OutOfDiskError",
            r"Local disk is full",
            r"while the IO worker was spilling objects",  # the spill folder full (ENOSPC) before OutOfDiskError
        ),
        "Give Ray a larger object store (config.rayInit.object_store_memory; in a container a larger /dev/shm), "
        "put fewer or smaller objects (pass data through Ray Data or files rather than one huge ray.put), and "
        "free references you no longer need.",
        2,
    ),
    Rule(
        "PICKLING_ERROR",
        "returned or sent an object Ray cannot serialize",
        _rx(
            r"PicklingError",
            r"cannot pickle",
            r"can't pickle",
            r"Could not serialize",
            r"is not serializable",
            r"cloudpickle.*(?:TypeError|Error)",
            r"Can't get attribute",
        ),
        "Report and return plain values (numbers, strings, dicts, lists); create locks, sockets, clients, "
        "generators and open files inside the worker instead of capturing them; ray.util.inspect_serializability"
        "(obj) names the offending member.",
        3,
    ),
    Rule(
        "MODULE_NOT_FOUND_ON_WORKERS",
        "could not import a module on the workers",
        _rx(
            r"ModuleNotFoundError: No module named", r"ImportError: No module named", r"ImportError: cannot import name"
        ),
        "Install the module on every node (the same version as the driver), or ship it with the job: "
        'config.rayInit.runtime_env {"py_modules": [...]} for your own code, {"pip": [...]} for packages, '
        'or {"working_dir": "."}; raydt submit ships the spec\'s folder.',
        4,
    ),
    Rule(
        "VERSION_MISMATCH",
        "met different Ray or Python versions between nodes",
        _rx(
            r"Version mismatch",
            r"RayVersionMismatch",
            r"Python patch version mismatch",
            r"was started with:\s*$",
            r"incompatible.*ray version",
        ),
        "Run the same Ray and Python versions on every node and the driver (one image or one pinned "
        "requirements file); `raydt doctor --address ADDR` compares them.",
        5,
    ),
    Rule(
        "COLLECTIVE_TIMEOUT",
        "timed out in a collective (NCCL/gloo)",
        _rx(
            r"Watchdog caught collective operation timeout",
            r"NCCL.*(?:[Tt]imeout|timed out)",
            r"ProcessGroupNCCL.*Timeout",
            r"[Gg]loo.*(?:[Tt]imed out|[Tt]imeout|Connection closed by peer)",
            r"DistBackendError",
            r"Timed out initializing process group",
            r"DistNetworkError",
        ),
        "One rank stopped or is much slower: check the other ranks' errors first. Then check that every node "
        "reaches the others (NCCL_SOCKET_IFNAME / GLOO_SOCKET_IFNAME, firewalls), run with NCCL_DEBUG=INFO, and "
        "keep each rank's work (batches, validation) the same size.",
        6,
    ),
    Rule(
        "PLACEMENT_GROUP_PENDING",
        "waited for resources that never came (placement group pending)",
        _rx(
            r"cannot be scheduled right now",
            r"No trial is running and no new trial has been started",
            r"WorkerGroupStartupTimeoutError",
            r"\bis infeasible\b",
            r"Infeasible (?:task|actor|resource)",
            r"No available node types can fulfill",
            r"insufficient resources",
            r"[Pp]lacement group.*(?:pending|not ready|timed out)",
        ),
        "Ask for what the cluster has (config.numWorkers, config.resourcesPerWorker, useGpu), lower "
        "tuneConfig.maxConcurrentTrials, or add nodes; runConfig.pendingTimeoutS bounds the wait.",
        7,
    ),
    Rule(
        WorkerDiedError.code,
        "lost a worker process (killed, crashed or its node died)",
        _rx(
            r"ActorDiedError",
            r"RayActorError",
            r"ActorUnavailableError",
            r"WorkerCrashedError",
            r"NodeDiedError",
            r"WorkerHealthCheckFailedError",
            r"The actor died unexpectedly",
            r"The worker died unexpectedly",
            r"died or was killed",
            r"Worker exit type: SYSTEM_ERROR",
            r"killed by SIGKILL",
            r"SIGSEGV",
            r"exit code -9",
            r"signal 9\b",
        ),
        WorkerDiedError.default_hint,
        8,
    ),
)
BY_CODE = {rule.code: rule for rule in RULES}
#: a trial or run that failed with none of the above: the trainer's own exception (its last traceback line)
USER_CODE = Rule(
    UserCodeError.code, "raised an exception in the trainer", re.compile(r"(?!)"), UserCodeError.default_hint, 9
)
#: raydt's own codes that already name the cause exactly (a saved result's error.code): they come first
DECISIVE = frozenset(
    cls.code
    for cls in (
        NanMetricError,
        MetricNotReportedError,
        InfeasibleResourcesError,
        PendingTimeoutError,
        PortInUseError,
        SpecError,
        SpecFileError,
        DataError,
        MissingDependencyError,
        RayConnectionError,
    )
)
#: an exception's last line: ``pkg.Error: message`` or a bare ``MemoryError``
EXCEPTION_LINE = re.compile(r"^(?:[\w.]+\.)?[A-Z]\w*(?:Error|Exception|Interrupt|Exit)\b(?::.*)?$")
#: what Ray puts around a line it forwards to the driver's output (``log_to_driver``): the process it came from,
#: ``(RayTrainWorker pid=6194)``, ``(pid=12, ip=10.0.0.2)``, ``(raylet)``, and its deduplication's count
_RAY_PREFIX = re.compile(r"^\((?:[\w.\-]+ )?(?:pid=\d+[^()]*|raylet[^()]*)\)\s*")
_RAY_REPEATED = re.compile(r"\s*\[repeated \d+x across cluster\]$")


def body(line: str) -> str:
    """The line as the process wrote it: without the prefix and suffix Ray adds when it forwards it (a trainer's
    traceback in a train run's log is all prefixed with its worker's)."""
    return _RAY_REPEATED.sub("", _RAY_PREFIX.sub("", line, count=1))


def classify(line: str) -> Rule | None:
    """The rule a line matches first, in precedence order (None: none)."""
    for rule in RULES:
        if rule.pattern.search(line):
            return rule
    return None
