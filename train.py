"""python train.py model=gatedconv data=places2 mask=deepfill_v2 trainer=gpu logger=wandb  (see README)."""

import hydra
from omegaconf import DictConfig

# torch-free. Importing suite registers the configs' resolvers: a SLURM worker imports it when it unpickles
# `main`, which refers to it, before it resolves the job's config.
from suite import preflight


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> None:
    preflight.train(cfg)
    from suite.train import train  # torch and Lightning load after the pre-flight checks (~15 s)

    train(cfg)


if __name__ == "__main__":
    main()
