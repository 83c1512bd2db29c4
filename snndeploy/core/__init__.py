"""The lowest layer: errors, atomic writes, hashing, device choice, optional imports, configs and the
facts that travel with every artifact. Nothing here imports the rest of snndeploy."""
