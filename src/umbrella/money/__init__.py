"""The money: the newsvendor's costs and ratio, each day's costs, the metrics in money,
and the stock replayed day by day. Pure arithmetic: no files, no params."""
