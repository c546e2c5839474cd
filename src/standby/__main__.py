"""`python -m standby` runs the command line."""

from standby.cli import main

main()
