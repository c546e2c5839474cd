"""Impact: Erlang C and A, staffing, and the simulated day under an outage."""
