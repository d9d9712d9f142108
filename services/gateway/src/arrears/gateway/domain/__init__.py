"""The gateway's pure rules: who may do what, passwords, tokens, throttling, profiles.

No I/O and no clock: times and random bytes are passed in."""
