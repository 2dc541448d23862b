"""Plain one-process reference: pandas reads the CSV, NumPy standardises, torch batches are iterated.

python benchmarks/compare/pandas_ingest.py CSV EPOCHS
"""

import json
import sys
import time

import numpy as np
import pandas as pd
import torch

path, epochs = sys.argv[1], int(sys.argv[2])
start = time.perf_counter()
df = pd.read_csv(path)
x = df.drop(columns=["y"]).to_numpy(np.float32)
cut = int(len(x) * 0.8)
train = x[np.random.default_rng(0).permutation(len(x))[:cut]]
train = (train - train.mean(axis=0)) / train.std(axis=0)
rates = []
for _ in range(epochs):
    t, rows, checksum = time.perf_counter(), 0, 0.0
    for i in range(0, len(train), 1024):
        batch = torch.from_numpy(train[i : i + 1024])
        rows += len(batch)
        checksum += float(batch[:, 0].sum())  # touch the data, as the Ray loop does
    rates.append(rows / (time.perf_counter() - t))
print(
    json.dumps(
        {"bestRowsPerS": max(rates), "epochRowsPerS": rates, "rows": rows, "inScriptS": time.perf_counter() - start}
    )
)
