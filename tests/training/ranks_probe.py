"""Run under torchrun by test_distributed_training.py: each rank reports what it was given and tries to
write a file named after itself through the run folder; only rank 0's files may appear."""
import json
import sys
from dataclasses import dataclass

import numpy as np
import torch

from training.distributed import open_run, setup

SAMPLES = 11  # odd: the shards must still be disjoint and equally long


@dataclass
class ProbeConfig:
    seed: int = 3


def main(root: str) -> None:
    ctx = setup("cpu")
    run = open_run(root, "probe", ProbeConfig(), ctx)
    model = ctx.wrap(torch.nn.Linear(2, 1))
    run.log(loss=ctx.mean(float(ctx.rank)))  # ranks 0 and 1 -> 0.5 on both
    run.write_json(f"rank{ctx.rank}.json", {"rank": ctx.rank})
    run.save_checkpoint(model, name=f"checkpoint-rank{ctx.rank}.pt")
    run.plot_curves(f"curves-rank{ctx.rank}.png")
    report = {"rank": ctx.rank, "path": str(run.path), "history": run.history,
              "epochs": [ctx.epoch_shard(SAMPLES, epoch, seed=3).tolist() for epoch in range(2)],
              "part": ctx.part(np.arange(8)).tolist(),
              "broadcast": ctx.broadcast(f"from rank {ctx.rank}")}
    print("PROBE " + json.dumps(report), flush=True)
    del model, run  # the DDP model holds the process group: free it before the group goes
    ctx.close()


if __name__ == "__main__":
    main(sys.argv[1])
