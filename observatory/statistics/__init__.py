"""The observatory's statistics (issue 6): the published plan schema (`schema`), accepting a
node's release (`ingest`, the federation's ``statistics.release`` hook) and storing it
(`store`), combining releases into estimates with intervals (`combine`, pure), what is
published overall and per country (`publication`) and the open data (`opendata`). The
observatory never imports `node`: they meet only through `protocol`."""
