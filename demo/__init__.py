"""The demonstration federation (`make demo`): an observatory and two nodes on this machine,
enrolled and federated, witnessing each other's evidence log and publishing statistics of
their synthetic, clearly labelled data. Orchestration only: it starts the real
`backup-observatory serve` and `backup-node serve` processes and drives them through their
command lines and web pages, as their administrators would."""
