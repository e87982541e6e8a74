"""`flask --app wsgi certificates …`: the signing keys, checking a certificate offline, and the
download sizes the personal page shows."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from courses import clock
from courses.certificates import credentials, keys, proofs, qrproof, verification
from courses.certificates.models import Certificate
from courses.certificates.sizes import refresh_sizes
from courses.extensions import db

certificates_cli = AppGroup("certificates", help="Signing keys and offline verification.")
keys_cli = AppGroup("keys", help="The site's Ed25519 signing keys (never printed).")
certificates_cli.add_command(keys_cli)


def _key_file() -> Path:
    if current_app.config.get("SIGNING_KEYS"):
        click.echo(
            "SIGNING_KEYS is set: the keys live in that environment variable; change them "
            "where it is defined (a file-based key ring is changed with these commands).",
            err=True,
        )
        sys.exit(1)
    path = current_app.config.get("SIGNING_KEYS_FILE")
    if not path:
        click.echo("SIGNING_KEYS_FILE is empty: this configuration keeps no key file.", err=True)
        sys.exit(1)
    return Path(path)


@keys_cli.command("create")
@click.option("--if-missing", is_flag=True, help="Do nothing (and succeed) if keys exist.")
def create_command(if_missing: bool) -> None:
    """Create the signing key ring with its first key (file mode 0600)."""
    path = _key_file()
    if if_missing and path.exists():
        return
    try:
        key = keys.create_key_file(path, clock.now())
    except keys.KeyStoreError as error:
        click.echo(str(error), err=True)
        sys.exit(1)
    click.echo(f"Created signing key {key.kid} in {path} (readable by its owner only).")


@keys_cli.command("rotate")
def rotate_command() -> None:
    """Start signing with a new key; old public keys stay published, old private keys go."""
    path = _key_file()
    try:
        key = keys.rotate_key_file(path, clock.now())
    except keys.KeyStoreError as error:
        click.echo(str(error), err=True)
        sys.exit(1)
    click.echo(f"Now signing with {key.kid}; earlier keys stay in /.well-known/did.json.")


@keys_cli.command("list")
def list_command() -> None:
    """Every key ever used (public halves only), the current one marked."""
    ring = keys.keyring()
    if not ring.public_keys:
        click.echo("No signing key yet: run `flask --app wsgi certificates keys create`.")
        return
    for key in ring.public_keys:
        current = "  (current)" if ring.current and ring.current.public == key else ""
        click.echo(f"{key.kid}  {key.created}  {key.multibase}{current}")


@certificates_cli.command("verify")
@click.argument("text")
@click.option(
    "--did",
    "did_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A saved did.json with the issuer's keys (default: this site's own key ring).",
)
def verify_command(text: str, did_file: str | None) -> None:
    """Check a QR text, or a credential file (.json or .jwt), with the published keys only."""
    path = Path(text)
    if len(text) < 4096 and path.is_file():
        text = path.read_text(encoding="utf-8")
    resolver = verification.load_resolver(
        did_file,
        lambda: verification.Resolver.from_ring(credentials.issuer_did(), keys.keyring()),
    )
    try:
        verdict = verification.verify_text(text, resolver)
    except (proofs.ProofError, qrproof.QrProofError) as error:
        click.echo(f"NOT VALID / NO VÁLIDO: {error}")
        sys.exit(1)
    click.echo(f"VALID / VÁLIDO: {verdict.kind} signed by {resolver.did}#{verdict.kid}")
    for label, value in verdict.facts.items():
        if value:
            click.echo(f"  {label}: {value}")
    click.echo(
        "  Revocation is not checked offline: open the /verify address (or the status list) "
        "when there is signal."
    )


@certificates_cli.command("sizes")
def sizes_command() -> None:
    """Measure the downloads of current certificates whose stored sizes are missing or stale.

    Until then the personal page measures them itself (exact, but about 25 ms per worker): run it
    after `keys rotate`, after reloading a course file, and once for certificates issued before
    the sizes were stored.
    """
    query = select(Certificate).where(Certificate.is_valid).order_by(Certificate.id)
    measured = 0
    for start in range(0, db.session.scalar(select(func.max(Certificate.id))) or 0, 500):
        batch = db.session.scalars(
            query.where(Certificate.id > start, Certificate.id <= start + 500)
        ).all()
        measured += refresh_sizes(batch)
        db.session.commit()  # in batches: a long run keeps what it measured
    click.echo(f"Measured {measured} certificate(s); the others' stored sizes hold.")
