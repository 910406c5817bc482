"""`srportal-server`: run the portal API and administer its database."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence

from sqlalchemy.exc import DBAPIError

from srportal_desktop import __version__
from srportal_desktop.server.errors import ProblemError
from srportal_desktop.server.settings import ServerSettings

PROG = "srportal-server"
APP_FACTORY = "srportal_desktop.server.app:create_app"
GRACEFUL_SHUTDOWN_SECONDS = 30


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class CliError(Exception):
    """A problem to report in one line, with exit status 1."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = _settings(args.db)
        return int(args.handler(args, settings))
    except CliError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
    except ProblemError as exc:
        fields = "".join(f"\n  {e.field}: {e.message}" for e in exc.errors)
        print(f"{PROG}: error: {exc.detail}{fields}", file=sys.stderr)
    except DBAPIError as exc:  # the driver's own first line says what went wrong
        reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else repr(exc)
        print(f"{PROG}: error: database: {reason}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a clear line rather than a traceback for operator errors
        print(f"{PROG}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
    return 1


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        metavar="URL",
        help="database URL (default: $SRPORTAL_DATABASE_URL, else a SQLite file in the "
        "user data directory)",
    )

    parser = argparse.ArgumentParser(prog=PROG, description="The SR License Portal API server.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="run the HTTP API",
        description="Upgrade the database schema, then serve the API. Settings come from "
        "SRPORTAL_* environment variables and the file named by SRPORTAL_SETTINGS_FILE.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=_port, default=8000, help="port to listen on")
    serve.add_argument("--workers", type=_positive, default=1, help="worker processes (default: 1)")
    serve.add_argument(
        "--proxy-headers",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="take the client address and scheme from X-Forwarded-For/-Proto, when the "
        "request comes from --forwarded-allow-ips (default: off)",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        metavar="IPS",
        help="comma-separated proxy addresses (or networks) trusted for --proxy-headers, "
        "or * for any (default: 127.0.0.1)",
    )
    serve.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        help="default: $SRPORTAL_LOG_LEVEL, else INFO",
    )
    serve.add_argument(
        "--log-format",
        choices=("json", "text"),
        help="json: one object per line (default: $SRPORTAL_LOG_FORMAT, else json)",
    )
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser(
        "migrate",
        parents=[common],
        help="create or upgrade the database schema",
        description="Apply the schema migrations the database lacks (none: nothing changes).",
    )
    migrate.set_defaults(handler=_migrate)

    reseller = commands.add_parser(
        "create-reseller",
        parents=[common],
        help="add a reseller with its quota pool",
        description="Add a reseller below the vendor. The password is read from standard "
        "input when it is not a terminal, else asked for twice.",
    )
    reseller.add_argument("--email", required=True)
    reseller.add_argument("--lpu", type=_count, required=True, help="LPU licenses in the pool")
    reseller.add_argument(
        "--sensors", type=_count, required=True, help="sensor licenses in the pool"
    )
    reseller.add_argument(
        "--gpu-preset", action="store_true", help="allow the GPU preset in this pool"
    )
    reseller.add_argument("--display-name", default="")
    reseller.add_argument(
        "--supported-sensors",
        metavar="IDS",
        help="comma-separated sensor model ids (default: the whole catalog)",
    )
    reseller.set_defaults(handler=_create_reseller)

    seed = commands.add_parser("seed-demo", parents=[common], help="add the demo data if missing")
    seed.set_defaults(handler=_seed_demo)
    return parser


def _settings(db_url: str | None) -> ServerSettings:
    # --db wins over SRPORTAL_DATABASE_URL, which wins over the default file.
    return ServerSettings(database_url=db_url) if db_url else ServerSettings()


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _positive(text: str) -> int:
    value = _count(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _port(text: str) -> int:
    value = _count(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError("must be between 1 and 65535")
    return value


def _serve(args: argparse.Namespace, settings: ServerSettings) -> int:
    import logging.config

    import uvicorn

    from srportal_desktop.server.db import Database
    from srportal_desktop.server.logging_config import logging_config

    log_config = logging_config(
        args.log_level or settings.log_level, args.log_format or settings.log_format
    )
    logging.config.dictConfig(log_config)  # the migration below logs too

    # Migrated once here, so the workers find the schema ready instead of racing for it.
    db = Database(settings.database_url)
    try:
        db.migrate()
    finally:
        db.dispose()

    # Every worker builds its app from the environment (and SRPORTAL_SETTINGS_FILE), so the
    # database given with --db must be there too.
    os.environ["SRPORTAL_DATABASE_URL"] = settings.database_url
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips=args.forwarded_allow_ips,
        log_config=log_config,
        access_log=False,  # RequestLogMiddleware writes one structured line per request
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    return 0


def _migrate(_args: argparse.Namespace, settings: ServerSettings) -> int:
    from srportal_desktop.server.db import Database

    db = Database(settings.database_url)
    try:
        before = db.schema_revision()
        db.migrate()
        after = db.schema_revision()
    finally:
        db.dispose()
    where = db.url.render_as_string(hide_password=True)
    if before == after:
        print(f"database already at migration {after} (newest): {where}")
    else:
        print(f"database migrated from {before or 'empty'} to {after}: {where}")
    return 0


def _create_reseller(args: argparse.Namespace, settings: ServerSettings) -> int:
    from srportal_desktop.server.bootstrap import create_reseller
    from srportal_desktop.server.services.accounts import normalize_email

    password = _read_password()
    supported = (
        [s.strip() for s in args.supported_sensors.split(",") if s.strip()]
        if args.supported_sensors
        else None
    )
    account_id = create_reseller(
        settings,
        args.email,
        password,
        lpu=args.lpu,
        sensors=args.sensors,
        gpu_preset=args.gpu_preset,
        supported_sensors=supported,
        display_name=args.display_name,
    )
    print(f"reseller {normalize_email(args.email)} created with id {account_id}")
    return 0


def _read_password() -> str:
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("no password on standard input")
        return password
    first = getpass.getpass("Password for the reseller: ")
    second = getpass.getpass("Repeat the password: ")
    if first != second:
        raise CliError("the passwords do not match")
    return first


def _seed_demo(_args: argparse.Namespace, settings: ServerSettings) -> int:
    from srportal_desktop.server import demo

    demo.seed_demo(settings)
    print(f"demo data ready: sign in as {demo.DEMO_RESELLER_EMAIL} / {demo.DEMO_RESELLER_PASSWORD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
