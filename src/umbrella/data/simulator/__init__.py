"""The embedded default data source: a simulated retailer driven by real weather.

`simulate` assembles it from `weather` (Seattle's real record, or a generator calibrated on
it), `forecasts` (weather forecasts as issued, with error growing with the lead) and
`demand` (negative-binomial umbrella sales). docs/data.md describes it.
"""
