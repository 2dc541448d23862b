"""Plain PyTorch in one process (no Ray) for the user-loop benchmark: the model and data of ``user_model.py``,
the same optimizer, batch size and epochs, validation and a checkpoint (model + optimizer) every epoch; torch's
default threads (one per core), or ``threads`` from the config.

    python benchmarks/compare/torch_plain_user.py CONFIG_JSON
"""

import json
import sys
import time

import torch
from torch.utils.data import DataLoader
from user_model import build_mlp, synthetic

config = json.loads(sys.argv[1])
start = time.perf_counter()
if config.get("threads"):
    torch.set_num_threads(int(config["threads"]))
torch.manual_seed(0)
train_ds, val_ds = synthetic(config)
model = build_mlp(config)
train_loader = DataLoader(train_ds, batch_size=config["batchSize"], shuffle=True)
val_loader = DataLoader(val_ds, batch_size=config["batchSize"])
optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"])
loss_fn = torch.nn.CrossEntropyLoss()
fit_start = time.perf_counter()
for epoch in range(config["epochs"]):
    model.train()
    for xb, yb in train_loader:
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    val_total, hits, rows = 0.0, 0, 0
    with torch.no_grad():
        for xb, yb in val_loader:
            out = model(xb)
            val_total += loss_fn(out, yb).item() * len(yb)
            hits += int((out.argmax(1) == yb).sum())
            rows += len(yb)
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch + 1}, "model.pt")
fit_s = time.perf_counter() - fit_start
print(json.dumps({"fitS": fit_s, "valAccuracy": hits / rows, "inScriptS": time.perf_counter() - start}))
