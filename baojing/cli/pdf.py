"""`flask pdf …`: prepare the CJK font cut the certificates are set in."""

import sys
import time

import click
from flask.cli import AppGroup

from baojing.services.certificates import fonts

pdf_cli = AppGroup("pdf", help="证件 PDF")


@pdf_cli.command("fonts")
@click.option("--force", is_flag=True, help="重新生成，即使已经有了")
def pdf_fonts(force: bool):
    """Write the GB 2312 cut of Noto Serif CJK SC (regular and bold) to PDF_FONT_DIR."""
    try:
        fonts.require_cjk_font()
        started = time.perf_counter()
        written = fonts.prepare(force=force)
    except fonts.NoCJKFont as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    if written:
        names = ", ".join(p.name for p in written)
        click.echo(f"已生成 {names}（{time.perf_counter() - started:.0f} 秒）于 {fonts.font_dir()}")
    else:
        click.echo(f"字体已就绪：{fonts.font_dir()}")
