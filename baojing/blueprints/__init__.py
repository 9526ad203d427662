"""One blueprint per capability."""


def register_blueprints(app):
    from baojing.web.params import BoundedIntConverter

    # Before any route is added: every <int:…> in the app is bounded.
    app.url_map.converters["int"] = BoundedIntConverter
    from baojing.blueprints.admin import bp as admin
    from baojing.blueprints.auth import bp as auth
    from baojing.blueprints.branches import bp as branches
    from baojing.blueprints.care import bp as care
    from baojing.blueprints.certificates import bp as certificates
    from baojing.blueprints.contacts import bp as contacts
    from baojing.blueprints.hub import bp as hub
    from baojing.blueprints.main import bp as main
    from baojing.blueprints.members import bp as members
    from baojing.blueprints.mentors import bp as mentors
    from baojing.blueprints.outbox import bp as outbox
    from baojing.blueprints.points import bp as points
    from baojing.blueprints.rankings import bp as rankings
    from baojing.blueprints.roster import bp as roster
    from baojing.blueprints.settings import bp as settings
    from baojing.blueprints.store import bp as store
    from baojing.blueprints.tasks import bp as tasks
    from baojing.blueprints.thoughts import bp as thoughts
    from baojing.blueprints.verify import bp as verify

    # roster (/members/import) before members, so that "import" is never read as a member id.
    blueprints = (
        main, auth, roster, members, points, store, rankings, care, certificates, verify,
        mentors, branches, contacts, admin, settings, outbox, thoughts, tasks, hub,
    )  # fmt: skip
    for bp in blueprints:
        app.register_blueprint(bp)
