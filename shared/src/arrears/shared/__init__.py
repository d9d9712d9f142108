"""Arrears shared: the event contract and the plumbing every service uses."""
