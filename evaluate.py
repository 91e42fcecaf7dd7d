"""python evaluate.py ckpt_path=<run>/checkpoints/last.ckpt data=places2 mask=nvidia_irregular (see README)."""

import hydra
from omegaconf import DictConfig

from suite.evaluate import evaluate


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    evaluate(cfg)


if __name__ == "__main__":
    main()
