"""python evaluate.py ckpt_path=<run>/checkpoints/last.ckpt data=places2 mask=nvidia_irregular (see README)."""

import hydra
from omegaconf import DictConfig

# torch-free. Importing suite registers the configs' resolvers: a SLURM worker imports it when it unpickles
# `main`, which refers to it, before it resolves the job's config.
from suite import preflight


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    preflight.evaluate(cfg)
    from suite.evaluate import evaluate  # torch and Lightning load after the pre-flight checks (~15 s)

    evaluate(cfg)


if __name__ == "__main__":
    main()
