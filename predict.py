"""python predict.py ckpt_path=<run>/checkpoints/last.ckpt input_dir=photos/ [mask_dir=masks/] (see README)."""

import sys

import hydra
from omegaconf import DictConfig

from suite.predict import predict


@hydra.main(version_base="1.3", config_path="conf", config_name="predict")
def main(cfg: DictConfig) -> None:
    sys.exit(predict(cfg))


if __name__ == "__main__":
    main()
