"""python train.py model=gatedconv data=places2 mask=deepfill_v2 trainer=gpu logger=wandb  (see README)."""

import hydra
from omegaconf import DictConfig

from suite.train import train


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> None:
    train(cfg)


if __name__ == "__main__":
    main()
