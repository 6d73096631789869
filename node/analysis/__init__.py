"""Text analysis on the node (issue 17): suggested codings (`suggest`), their model and lexicon,
and the labelled evaluation set with its metrics and baselines."""
