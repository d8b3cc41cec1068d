"""Data: manifests and downloads (``manifest``), validated readers (``io``), per-dataset loaders with
fixtures (``datasets``), and splits (``splits``)."""
