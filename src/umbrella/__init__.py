"""umbrella-forecast: daily umbrella sales per store from weather forecasts, as orders."""

__version__ = "0.1.0"
