"""The forecast judged: the backtest over the test period, its scores in money, the
limits (oracle), the gate, and the plots."""
