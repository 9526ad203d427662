"""持证管理: certificate letters, activity cards, batch printing, transfer letters, /verify."""
