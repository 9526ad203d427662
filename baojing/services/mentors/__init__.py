"""Career support: mentoring, 小个专 enterprises and credit, honours and events."""
