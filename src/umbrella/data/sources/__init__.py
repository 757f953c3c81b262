"""A retailer's own data (csv files or a database), where its stores are, and the
fingerprint of every configured source."""
