"""The observatory's statistics: combination of nodes' differentially private releases into
estimates with intervals (`combine`). Pure functions; the observatory never imports `node`."""
