"""The data contract (docs/data.md): the tables' schemas and limits, the rules raw files
are checked by, plausible sales, and the validated (interim) tables as later stages read them."""
