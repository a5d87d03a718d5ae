"""Django site for running NEMO-CE as a benchmark peer (see bench/nemo_peer.py)."""
