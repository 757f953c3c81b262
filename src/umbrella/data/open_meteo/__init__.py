"""Open-Meteo connector: observed weather and weather forecasts as they were issued.

* `pull_weather`: the Historical Weather API (`archive_url`), hourly `precipitation`,
  `temperature_2m`, `wind_speed_10m` (m/s) summed / maxed / mined over each store's local day.
  The last days the archive has not published yet (it runs about 5 days late) come from
  the Forecast API (`forecast_url`), flagged `weather_source = forecast`.
* `pull_forecasts`: the Previous Runs API (`previous_runs_url`), hourly
  `precipitation_previous_day{h}` and `temperature_2m_previous_day{h}`, h = 1..7; with
  sales through yesterday, the forecast issued yesterday is the Forecast API's latest run
  (hourly `precipitation`, `temperature_2m`) for the days ahead.
* Nothing after the present (`umbrella.core.freshness.today`): no observed day from today on,
  nothing issued today or later, no value of a run from tomorrow on (ignored, warned).

Why hourly, and not the archive's daily variables: the API applies ONE fixed UTC offset to a
whole answer, the zone's offset at the moment of the request (no DST switch inside a time
series: open-meteo/open-meteo#261, #1255, #1545). Its daily aggregates of a summer day pulled
in winter run 23:00 to 23:00 local time, and change with the season of the pull. We put
every hour back on the UTC axis (`utc_offset_seconds`) and on the store's real clock
(the answer's IANA `timezone`, which also resolves `auto`), so a local day has its 23, 24
or 25 hours whatever the date of the pull. Aggregation follows the API's (hours stamped
00:00..23:00 of the day; `precipitation` at hour X is the sum of the hour before X).

THE TIMING RULE. Every value used for target day t+h was issued by a model run that
started no later than the end of the origin day t in the store's local time zone.
Why suffix N = h guarantees it: the Previous Runs API defines `_previous_dayN` at valid time
X as the value "predicted 24 hours before valid time" for N = 1, 48 h for N = 2, and so on:
it comes from a run initialised at or before X - N*24 h. The target day D = t+h has hours
X <= 23:00 local on D, so with N = h every run used started at or before
23:00(D) - h*24 h. Between 23:00 on t and 23:00 on t+h lie h*24 h of real time, or one hour
less or more when a DST change falls in between: the bound is 22:00, 23:00 or 24:00 (= the
end) of day t local time. Never later. N = h-1 would allow runs up to 23:00 on t+1: leakage.
The forecast for lead h is recorded with issued = D - h = t. tests/data/test_open_meteo.py checks
it against a fake server that encodes N into every value.

Before the forecast archive's coverage (January 2024 for most models, March 2021 for GFS
temperature) a target day falls back on the observed weather of that day, flagged
`forecast_source = observed` and announced by a warning: those rows are perfect forecasts.
`precipitation_probability` is not archived by the Previous Runs API: no `rain_prob`.

Calls: several locations per call, calendar-aligned chunks of `days_per_call` days, a
timeout on every call, retries with doubling waits on 429 / 5xx / timeouts / refused
connections (Retry-After honoured up to 120 s), the API key sent as `apikey` and never
written to the cache or to a message, and a persistent cache of final, complete chunks
(those whose last requested day is at least `cache.FINAL_AFTER_DAYS` = 10 days before
today, without a null), each entry checked against its request and checksum when read.
"""

from umbrella.data.open_meteo.pull import pull_forecasts, pull_weather

__all__ = ["pull_forecasts", "pull_weather"]
