"""python predict.py ckpt_path=<run>/checkpoints/last.ckpt input_dir=photos/ [mask_dir=masks/] (see README)."""

import sys

import hydra
from omegaconf import DictConfig

# torch-free: a missing checkpoint or folder is reported before torch loads
from suite import preflight


@hydra.main(version_base="1.3", config_path="conf", config_name="predict")
def main(cfg: DictConfig) -> None:
    preflight.predict(cfg)
    from suite.predict import predict  # torch and the model load after the pre-flight checks (~15 s)

    sys.exit(predict(cfg))


if __name__ == "__main__":
    main()
