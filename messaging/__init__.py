"""Messages to customers (text messages and emails): each one a row, sent by the
task worker after the transaction that caused it commits, retried with backoff
while the provider fails, and visible in the back office when it gives up."""
