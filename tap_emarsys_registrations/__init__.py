"""Singer tap for Emarsys form registrations, read through the asynchronous export API."""
