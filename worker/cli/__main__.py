"""`python -m worker.cli`: the same as the `reminders` command."""

from worker.cli import main

main()
