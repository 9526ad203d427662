"""/contacts: public, no login. Each branch's contact person and the number they chose to publish."""
