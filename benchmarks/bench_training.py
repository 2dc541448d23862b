"""Benchmark 3: training overhead. raydt's built-in PyTorch trainer on 2 CPU workers against the same loop
hand-written with TorchTrainer (Ray's defaults) and against plain one-process PyTorch.

Reports wall time, training time and samples per second. Target: raydt within 2% of the hand-written
Ray Train script (ratio <= 1.02).
"""

from __future__ import annotations

import os

from common import PY, RAYDT, Case, alternate, last_json_line, median, ratio, raydt_json, reps, save, spec_file

from raydt.frameworks.data import digits

EPOCHS = int(os.environ.get("BENCH_EPOCHS", 10))
spec = {
    "mode": "train",
    "config": {"numWorkers": 2, "resourcesPerWorker": {"cpu": 1}},
    "trainConfig": {
        "framework": "pytorch",
        "epochs": EPOCHS,
        "trainLoopConfig": {"lr": 0.01, "batchSize": 32, "hiddenSize": 64},
        "metric": "val_loss",
        "metricMode": "min",
    },
    "runConfig": {"storagePath": "./raydt_results"},
}
path = spec_file(spec, "training")
here = os.path.dirname(os.path.abspath(__file__))
cases = [
    Case("raydt", [*RAYDT, "run", path, "--quiet"], raydt_json),
    Case("ray-train", [PY, f"{here}/compare/ray_train_mlp.py", str(EPOCHS)], last_json_line),
    Case("plain-torch", [PY, f"{here}/compare/torch_plain.py", str(EPOCHS)], last_json_line),
]
alternate(cases, reps(3))
samples = len(digits().x_train) * EPOCHS
r_fit, t_fit, p_fit = median(cases[0], "trainingTimeS"), median(cases[1], "fitS"), median(cases[2], "fitS")
r_wall, t_wall, p_wall = (median(c) for c in cases)


def per_s(fit: float | None) -> float | None:
    return round(samples / fit, 1) if fit else None


save(
    "training",
    f"built-in PyTorch MLP on digits, {EPOCHS} epochs, 2 CPU workers (s; samples/s)",
    [
        {"what": f"train {EPOCHS} epochs, 2 workers: whole process vs hand-written TorchTrainer", "raydt": r_wall,
         "comparison": t_wall, "ratio": ratio(r_wall, t_wall), "target": "ratio <= 1.02"},
        {"what": f"train {EPOCHS} epochs, 2 workers: fit() time vs hand-written TorchTrainer", "raydt": r_fit,
         "comparison": t_fit, "ratio": ratio(r_fit, t_fit), "target": "ratio <= 1.02"},
        {"what": "training samples/s: raydt (2 workers) vs hand-written TorchTrainer", "raydt": per_s(r_fit),
         "comparison": per_s(t_fit), "ratio": ratio(per_s(r_fit), per_s(t_fit)), "target": "ratio >= 0.98"},
        {"what": f"train {EPOCHS} epochs: raydt whole process vs plain PyTorch (1 process)", "raydt": r_wall,
         "comparison": p_wall, "ratio": ratio(r_wall, p_wall), "target": "(reference)"},
        {"what": "training samples/s: raydt (2 workers) vs plain PyTorch loop", "raydt": per_s(r_fit),
         "comparison": per_s(p_fit), "ratio": ratio(per_s(r_fit), per_s(p_fit)), "target": "(reference)"},
    ],
    cases,
)  # fmt: skip
