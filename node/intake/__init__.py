"""Intake: reports from survivors, relatives and witnesses, and the receipt channel."""
