"""Honours recommendations and event invitations (under /mentors/honours, /mentors/events)."""
