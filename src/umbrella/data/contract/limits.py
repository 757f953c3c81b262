"""Physically plausible ranges of weather values: the data contract rejects values outside
them, and the simulator never makes one."""

RAIN_MAX_MM = 500.0  # the world record daily rain is ~1800 mm; a store's data above 500 is an error
TEMP_RANGE_C = (-60.0, 60.0)
WIND_MAX = 100.0  # m/s

# Plausibility limits of the sales contract: a value beyond them is a unit or export error
# (cents for dollars, a sum over stores, an overflowed cell), reported by validate.
UNITS_MAX = 1_000_000  # umbrellas sold by one store on one day
PRICE_MAX = 100_000.0  # money per umbrella
DATE_RANGE = ("1900-01-01", "2199-12-31")  # every date of every file
