"""Exercises of the plan against the live system, their results, and the plan's reviews."""
