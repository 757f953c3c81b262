"""What every layer stands on: the repository's paths, the params, errors, files written
atomically, partitions, the engine (local or Dask), storage, sampling, the time split,
what today is, and HTTP with bounded waits."""
