"""Domain logic over the warehouse: ballot tally, innovation project registry, action plan
follow-ups, and the CSV files Collect downloads as form media."""
