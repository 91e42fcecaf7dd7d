"""python import_release.py release=edgeconnect release.dataset=places2 release.dir=<folder> (see README)."""

import hydra
from omegaconf import DictConfig

from suite.import_release import import_release


@hydra.main(version_base="1.3", config_path="conf", config_name="import_release")
def main(cfg: DictConfig) -> None:
    import_release(cfg)


if __name__ == "__main__":
    main()
