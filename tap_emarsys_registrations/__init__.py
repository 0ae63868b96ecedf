"""Singer tap for Emarsys form registrations, read through the asynchronous export API."""

# The only place the version is written: hatch reads it into the package metadata,
# and `--about` reports the metadata.
__version__ = "0.2.0"
