"""小个专 enterprises: registry, credit support, difficulties, county totals (under /mentors/enterprises)."""
