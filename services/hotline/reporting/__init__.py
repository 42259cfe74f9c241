"""Reports for people who read them: the period's briefing tables and their HTML page."""
