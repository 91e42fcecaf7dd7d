"""The bottom layer: what every other package may use (atomic writes, the pretrained-network loader, config
resolvers, logger shutdown). It imports nothing of the suite's own packages."""
