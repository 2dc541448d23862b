"""The hand-written Ray Serve deployment a Ray user writes from Serve's docs, for the serve comparison
(bench_serve_compare.py): one ``@serve.deployment`` class, ``serve.run`` on an HTTP port, 1 replica x 1 CPU, the
same embedded Ray (2 CPUs, no dashboard, as raydt's serve run starts it).

``noop``: reads the JSON body and answers ``{"predictions": [0, ...]}``, one per instance. ``digits``: the built-in
digits MLP's checkpoint loaded as a PyTorch user loads it (the network rebuilt, ``model.pt``'s state dict, the
standardize mean/std from ``raydt_meta.json``), applied to the request's rows: class labels out. No input checks:
what a user writes from the docs, so raydt's checks (row shape, finite numbers, body size, auth) count as its cost.

Prints one JSON line ``{"endpoint": ...}`` once the endpoint answers; serves until SIGINT / SIGTERM.

    python benchmarks/compare/serve_handwritten.py noop|digits CHECKPOINT PORT
"""

import json
import signal
import sys
import threading
import urllib.request

import numpy as np
import ray
from ray import serve
from starlette.requests import Request

model_name, checkpoint, port = sys.argv[1], sys.argv[2], int(sys.argv[3])


@serve.deployment
class Noop:
    async def __call__(self, request: Request) -> dict:
        body = await request.json()
        return {"predictions": [0] * len(body["instances"])}


@serve.deployment
class Digits:
    def __init__(self, checkpoint: str) -> None:
        import torch

        from raydt.frameworks.pytorch.trainer import build_model  # the network's definition (the user's own class)

        with open(f"{checkpoint}/raydt_meta.json") as f:
            meta = json.load(f)
        self.torch = torch
        self.model = build_model(meta["inputSize"], meta["hiddenSize"], meta["numClasses"])
        self.model.load_state_dict(torch.load(f"{checkpoint}/model.pt", weights_only=False)["model"])
        self.model.eval()
        scale = meta["preprocessing"]["standardize"]
        self.mean = np.asarray(scale["mean"], np.float32)
        self.std = np.asarray(scale["std"], np.float32)

    async def __call__(self, request: Request) -> dict:
        body = await request.json()
        x = (np.asarray(body["instances"], dtype=np.float32) - self.mean) / self.std
        with self.torch.no_grad():
            logits = self.model(self.torch.from_numpy(x))
        return {"predictions": logits.argmax(dim=1).tolist()}


ray.init(num_cpus=2, include_dashboard=False)
serve.start(http_options={"host": "127.0.0.1", "port": port})
deployment = Noop if model_name == "noop" else Digits
args = () if model_name == "noop" else (checkpoint,)
serve.run(deployment.options(num_replicas=1, ray_actor_options={"num_cpus": 1}).bind(*args), route_prefix="/")
endpoint = f"http://127.0.0.1:{port}"
probe = urllib.request.Request(f"{endpoint}/predict", json.dumps({"instances": [[0.0] * 64]}).encode())
urllib.request.urlopen(probe, timeout=60).read()
print(json.dumps({"status": "success", "endpoint": endpoint, "serve": {"predict": f"{endpoint}/predict"}}), flush=True)

stop = threading.Event()
for sig in (signal.SIGINT, signal.SIGTERM):
    signal.signal(sig, lambda *_: stop.set())
while not stop.wait(1):
    pass
serve.shutdown()
ray.shutdown()
