"""The hand-written Ray Data batch inference a Ray user writes from Ray Data's docs: read the Parquet file,
``map_batches`` with a callable class that loads the model once per actor (a pool of ``CONCURRENCY`` actors, the
same batch size and CPUs per actor as raydt's spec), write Parquet. The model is the same checkpoint, loaded and
applied with the same code raydt's actors use (its saved preprocessing, then the network), so only the
orchestration differs.

    python benchmarks/compare/ray_data_predict.py CHECKPOINT DATA OUT BATCH CONCURRENCY [OBJECT_STORE_MB]
"""

import json
import sys
import time

import numpy as np
import ray

checkpoint, data, out, batch_size, concurrency = sys.argv[1:3] + [sys.argv[3], int(sys.argv[4]), int(sys.argv[5])]
start = time.perf_counter()
store_mb = int(sys.argv[6]) if len(sys.argv) > 6 else 0
ray.init(**({"object_store_memory": store_mb << 20} if store_mb else {}))


class Model:
    def __init__(self) -> None:
        from raydt.serving.predictors import BuiltinPredictor

        self.model = BuiltinPredictor(checkpoint)

    def __call__(self, batch):  # type: ignore[no-untyped-def]
        x = np.asarray(self.model.pipeline.features(batch[self.model.raw_columns]), dtype=np.float32)
        batch = batch[["id"]].copy()
        batch["prediction"] = self.model.labels(self.model.probabilities(x))
        return batch


ds = ray.data.read_parquet(data)
pool = ray.data.ActorPoolStrategy(size=concurrency)
ds.map_batches(Model, batch_size=batch_size, batch_format="pandas", compute=pool, num_cpus=1).write_parquet(out)
# inScriptS: from after the imports to the output written (no interpreter start, no Ray shutdown at exit); the
# benchmark's figure is the whole process's wall time, measured outside
print(json.dumps({"status": "success", "inScriptS": round(time.perf_counter() - start, 3)}))
