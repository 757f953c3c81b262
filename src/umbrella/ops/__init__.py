"""The model in production: orders, the monitor, the pull-request report, revisions of
the repository, and tuning on a retailer's own history."""
