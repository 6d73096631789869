"""Text analysis on the node (issue 17): the labelled evaluation set, its metrics and baselines."""
