"""Physically plausible ranges of weather values: the data contract rejects values outside
them, and the simulator never makes one."""

RAIN_MAX_MM = 500.0  # the world record daily rain is ~1800 mm; a store's data above 500 is an error
TEMP_RANGE_C = (-60.0, 60.0)
WIND_MAX = 100.0  # m/s
