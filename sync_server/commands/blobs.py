"""``sangjog blobs``: the attachment store (folder or S3-compatible object storage)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from pipeline import blob_tools
from pipeline.storage import open_store

from ..db import get_blobs, get_session


@click.group("blobs")
def command() -> None:
    """Attachments: move them to object storage, check that every one is there."""


@command.command("migrate")
@with_appcontext
@click.option("--to", "target_url", required=True,
              help="Where to copy the attachments: s3://bucket/prefix, or a folder.")
@click.option("--endpoint-url", help="The target object store's address when it is not AWS S3.")
def migrate(target_url: str, endpoint_url: str | None) -> None:
    """Copy every attachment from the current store (BLOB_STORE) to --to, checking each sha256.
    Safe to stop and run again: what is already there is skipped. Then set BLOB_STORE to it."""
    from tqdm import tqdm

    source = get_blobs()
    target = open_store(target_url, current_app.config["SANGJOG_DATA_DIR"],
                        endpoint_url=endpoint_url or current_app.config["BLOB_STORE_ENDPOINT_URL"])
    if str(target) == str(source):
        raise click.ClickException("The target is the store in use; nothing to copy.")
    session = get_session()
    total = sum(1 for _ in blob_tools.referenced(session))
    with tqdm(total=total, unit="file", disable=None) as bar:
        report = blob_tools.migrate(session, source, target, bar.update)
    click.echo(f"{report.copied} copied, {report.already} already there, "
               f"{len(report.missing)} missing, {len(report.damaged)} damaged, "
               f"of {report.referenced} attachments, from {source} to {target}.")
    for digest in report.missing:
        click.echo(f"missing from {source}: {digest}", err=True)
    for digest in report.damaged:
        click.echo(f"damaged in {source}: {digest}", err=True)
    if report.missing or report.damaged:
        raise SystemExit(1)
    click.echo(f"Now set BLOB_STORE={target} and restart the server.")


@command.command("check")
@with_appcontext
def check() -> None:
    """Check that every attachment the database names is in the store; list orphans (objects
    no attachment names). Exits 1 when any is missing."""
    store = get_blobs()
    report = blob_tools.check(get_session(), store)
    click.echo(f"{report.referenced} attachments, {len(report.missing)} missing, "
               f"{len(report.orphans)} orphans in {store}.")
    for digest in report.missing:
        click.echo(f"missing: {digest}")
    for digest in report.orphans:
        click.echo(f"orphan: {digest}")
    if report.missing:
        raise SystemExit(1)
