"""Reports back out of the service, in the formats the partnership presents them in."""
