"""The back office: case work, incident coding, access decisions and the chain of custody."""
