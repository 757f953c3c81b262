"""Helpers the tests share: stand-in services (Open-Meteo, S3, PostgreSQL), in-process stage runs
and the CI workflow runner."""
