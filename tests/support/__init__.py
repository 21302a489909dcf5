"""What the tests share: servers, browsers, workers, and helpers for the console and web."""
