"""The live forecast: what an open outage will cost from here, option by option, and which to take."""
