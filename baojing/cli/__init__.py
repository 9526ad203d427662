"""Command-line tools, one module per command group (DESIGN.md "Contract")."""

from baojing.cli.audit import audit_cli
from baojing.cli.backup import backup_cli
from baojing.cli.demo import demo_cli
from baojing.cli.deploy import deploy_cli, deploy_problems
from baojing.cli.pdf import pdf_cli
from baojing.cli.points import points_cli
from baojing.cli.roster import members_cli
from baojing.cli.setup import setup_command
from baojing.cli.tasks import tasks_cli
from baojing.cli.users import users_cli

COMMANDS = (
    demo_cli, backup_cli, users_cli, deploy_cli, audit_cli, points_cli, pdf_cli, members_cli,
    setup_command, tasks_cli,
)  # fmt: skip

__all__ = ["deploy_problems", "init_app"]


def init_app(app):
    for command in COMMANDS:
        app.cli.add_command(command)
