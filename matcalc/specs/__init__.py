"""What users describe: networks (in a course's convention) and expression contexts, read
from TOML or Python."""
