"""The entry logic: train / evaluate / predict and DDP from Hydra runs, on top of every other package.

Loading it registers the configs' resolvers (utils/resolvers.py): the scripts import it before Hydra reads
a config, and so does a SLURM worker when it unpickles a job's task function, before Hydra resolves the
job's config."""

from utils.resolvers import register_resolvers

register_resolvers()
