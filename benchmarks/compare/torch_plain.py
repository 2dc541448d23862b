"""Plain PyTorch in one process: the same MLP, data, optimizer and epochs, no Ray, no checkpoints.

python benchmarks/compare/torch_plain.py EPOCHS
"""

import json
import sys
import time

import torch
from torch.utils.data import DataLoader, TensorDataset

from raydt.frameworks.data import digits
from raydt.frameworks.pytorch.trainer import build_model

epochs = int(sys.argv[1])
start = time.perf_counter()
torch.manual_seed(0)
data = digits()
model = build_model(data.x_train.shape[1], 64, data.num_classes)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
loader = DataLoader(
    TensorDataset(torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)), batch_size=32, shuffle=True
)
loss_fn = torch.nn.CrossEntropyLoss()
fit_start = time.perf_counter()
for _ in range(epochs):
    model.train()
    for xb, yb in loader:
        optimizer.zero_grad()
        loss_fn(model(xb), yb).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = float((model(torch.from_numpy(data.x_val)).argmax(1) == torch.from_numpy(data.y_val)).float().mean())
fit_s = time.perf_counter() - fit_start
print(json.dumps({"fitS": fit_s, "valAccuracy": accuracy, "inScriptS": time.perf_counter() - start}))
