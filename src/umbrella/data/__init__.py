"""The data: where it comes from (sources/, open_meteo/, simulator/) and what valid
data is (contract/)."""
