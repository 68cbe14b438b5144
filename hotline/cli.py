"""The `hotline` command: serve, migrate, agents, demo-agents, classify, nlp, staffing, roster,
report."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hotline.access import ROLES
from hotline.cli_admin import add_admin_parsers
from hotline.cli_cases import add_cases_parser, cases_command
from hotline.cli_data import add_backup_parsers, add_data_parsers
from hotline.cli_duty import add_roster_parser
from hotline.cli_report import add_report_parser
from hotline.config import ConfigError, HotlineConfig, load_config

if TYPE_CHECKING:  # the CLI imports its heavy parts only for the command that needs them
    from sqlalchemy.ext.asyncio import AsyncEngine

    from hotline.accounts import Accounts
    from nlp import Classifier
    from nlp.model import TrainedModel

DEMO_AGENTS = (
    # id, name, role, console password, SIP password
    ("1001", "演示坐席一", "agent", "demo-1001", "sip-1001"),
    ("1002", "演示坐席二", "agent", "demo-1002", "sip-1002"),
    ("1003", "演示坐席三", "agent", "demo-1003", "sip-1003"),
    ("9001", "演示班长", "lead", "demo-9001", "sip-9001"),
)


def _config(args: argparse.Namespace) -> HotlineConfig:
    path = args.config or os.environ.get("HOTLINE_CONFIG") or None
    return load_config(path)


def _accounts(config: HotlineConfig) -> tuple[AsyncEngine, Accounts]:
    from hotline.accounts import Accounts
    from hotline.db import create_engine, session_factory

    engine = create_engine(config.database.url)
    return engine, Accounts(session_factory(engine), config.sip.realm, config.console.session_hours)


def event_loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The loop `serve` runs in: None for asyncio's own, uvloop's when configured."""
    if name != "uvloop":
        return None
    try:
        import uvloop
    except ImportError as exc:
        raise ConfigError(
            '[media] event_loop = "uvloop" needs the uvloop package: pip install "hotline[uvloop]"'
        ) from exc
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp.web import GracefulExit

    from hotline.cluster import LEASE_LOST_EXIT, LeaseLost
    from hotline.logs import configure_logging
    from hotline.wiring import System, serve

    config = _config(args)
    configure_logging(args.log_level, json_output=not args.plain_logs)

    def ready(system: System) -> None:
        host, port = system.gateway.address
        print(f"Console:  http://{config.console.host}:{config.console.port}/", flush=True)
        print(f"SIP:      udp {host}:{port}  (hotlines: {', '.join(config.hotlines)})", flush=True)

    try:
        with asyncio.Runner(loop_factory=event_loop_factory(config.media.event_loop)) as runner:
            runner.run(serve(config, ready, migrate=args.migrate))
    except (KeyboardInterrupt, GracefulExit):
        pass  # Ctrl-C, or SIGTERM (aiohttp raises GracefulExit, status 1): a clean stop
    except LeaseLost:
        return LEASE_LOST_EXIT  # stopped serving; restarted, it waits as a standby
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    import migrations

    config = _config(args)
    if args.downgrade:
        migrations.downgrade(config.database.url, args.downgrade)
    else:
        migrations.upgrade(config.database.url, args.revision)
    return 0


def _read_secret(prompt: str, given: str | None) -> str:
    if given is not None:
        return given
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass(prompt)


def cmd_agents(args: argparse.Namespace) -> int:
    from datetime import datetime

    from hotline.accounts import AccountError
    from hotline.audit import AuditEntry, Operator

    config = _config(args)
    operator, now = Operator.current(), datetime.now(UTC)

    async def run() -> int:
        engine, accounts = _accounts(config)
        try:
            if args.action == "add":
                password = _read_secret("Console password: ", args.password)
                sip_password = _read_secret("SIP password: ", args.sip_password)
                entry = AuditEntry.of(
                    operator, "agent.add", "agent", args.agent_id, now, role=args.role
                )
                await accounts.add_agent(
                    args.agent_id, args.name, password, sip_password, args.role, now, entry
                )
                print(f"added {args.role} {args.agent_id}")
            elif args.action in ("role", "deactivate", "activate"):
                role = args.role if args.action == "role" else None
                active = None if args.action == "role" else args.action == "activate"
                detail = {"role": role} if role else {"active": active}
                entry = AuditEntry(
                    now,
                    operator.agent_id,
                    operator.role,
                    "agent.change",
                    "agent",
                    args.agent_id,
                    "",
                    detail,
                )
                agent = await accounts.change(args.agent_id, entry, role=role, active=active)
                state = "active" if agent.active else "inactive"
                print(f"{agent.id}\t{agent.role}\t{state}")
            elif args.action == "list":
                for agent in await accounts.list_agents():
                    state = "active" if agent.active else "inactive"
                    print(f"{agent.id}\t{agent.role}\t{state}\t{agent.name}")
            elif args.action == "passwd":
                password = args.password
                sip_password = args.sip_password
                if password is None and sip_password is None:
                    password = _read_secret("New console password: ", None)
                entry = AuditEntry.of(operator, "agent.passwd", "agent", args.agent_id, now)
                await accounts.set_password(args.agent_id, password, sip_password, entry)
                print(f"password changed for {args.agent_id}")
        except AccountError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        finally:
            await engine.dispose()
        return 0

    return asyncio.run(run())


def cmd_demo_agents(args: argparse.Namespace) -> int:
    from datetime import datetime

    config = _config(args)

    async def run() -> None:
        engine, accounts = _accounts(config)
        try:
            existing = {agent.id for agent in await accounts.list_agents()}
            for agent_id, name, role, password, sip_password in DEMO_AGENTS:
                if agent_id not in existing:
                    await accounts.add_agent(
                        agent_id, name, password, sip_password, role, datetime.now(UTC)
                    )
                print(
                    f"  {role:5} {agent_id}  console password {password}"
                    f"  SIP password {sip_password}"
                )
        finally:
            await engine.dispose()

    print("Demo agents:")
    asyncio.run(run())
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from hotline.classification import build_classifier
    from nlp import classify_lines

    classifier = build_classifier(_config(args).nlp)
    for line in classify_lines((raw.rstrip("\r\n") for raw in sys.stdin), classifier):
        sys.stdout.write(line + "\n")
    sys.stdout.flush()
    return 0


def cmd_roster(args: argparse.Namespace) -> int:
    from hotline.cli_duty import cmd_roster as run

    return run(args, _config(args))


def cmd_report(args: argparse.Namespace) -> int:
    from hotline.cli_report import cmd_report as run

    return run(args, _config(args))


def cmd_staffing(args: argparse.Namespace) -> int:
    import json
    import random

    if args.roster or args.arrivals:
        from hotline.cli_duty import cmd_staffing_day

        if not (args.roster and args.arrivals):
            print("error: --roster and --arrivals go together", file=sys.stderr)
            return 2
        return cmd_staffing_day(args, _config(args))
    if args.calls_per_hour is None or args.aht is None:
        print("error: --calls-per-hour and --aht are required", file=sys.stderr)
        return 2

    from routing.simulation import poisson_arrivals, simulate
    from routing.staffing import agents_needed

    try:
        plan = agents_needed(
            args.calls_per_hour, args.aht, args.target_sl, args.target_seconds, args.max_occupancy
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result = None
    if args.simulate_hours:
        rng = random.Random(args.seed)
        arrivals = poisson_arrivals(args.calls_per_hour, args.simulate_hours, rng)
        result = simulate(arrivals, plan.agents, args.aht, args.target_seconds, rng)
    if args.json:
        body: dict[str, object] = dict(plan.to_json_dict())
        if result is not None:
            body["simulated"] = {
                "calls": result.calls,
                "service_level": round(result.service_level, 4),
                "asa_seconds": round(result.asa_seconds, 2),
            }
        print(json.dumps(body))
        return 0
    print(f"agents needed:           {plan.agents}")
    print(f"service level:           {plan.service_level:.1%} within {args.target_seconds:g} s")
    print(f"average speed of answer: {plan.asa_seconds:.1f} s")
    print(f"occupancy:               {plan.occupancy:.1%}")
    if result is not None:
        print(
            f"simulated ({result.calls} calls): service level {result.service_level:.1%}, "
            f"ASA {result.asa_seconds:.1f} s, longest wait {result.max_wait_seconds:.0f} s"
        )
    return 0


def cmd_nlp(args: argparse.Namespace) -> int:
    from hotline.classification import build_classifier
    from nlp.evaluation import evaluate, evaluate_tipdm, read_labelled, read_tipdm

    config = _config(args)
    classifier = build_classifier(config.nlp)
    if args.action == "train":
        return _train(config, classifier, Path(args.output or config.nlp.model_path))
    if args.action in ("pretrain", "crossval"):
        return _corpus(args, classifier)
    try:
        if args.action == "evaluate-tipdm":
            messages = read_tipdm(Path(args.file))
            coarse = evaluate_tipdm(classifier, messages, args.confusions)
            print("\n".join(coarse.lines()))
            return 0 if coarse.accuracy >= args.min_accuracy else 1
        rows = read_labelled(Path(args.file))
    except (OSError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report = evaluate(classifier, rows, confusions=args.confusions)
    print("\n".join(report.lines()))
    return 0


def _corpus(args: argparse.Namespace, classifier: Classifier) -> int:
    """`hotline nlp pretrain` (the shipped base model) and `hotline nlp crossval`."""
    from nlp.pretrain import cross_validate, pretrain, read_corpus

    try:
        if args.action == "pretrain":
            rows = read_corpus([Path(name) for name in args.files])
        else:
            rows = read_corpus([Path(args.file)])
            also = read_corpus([Path(name) for name in args.also])
    except (OSError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    if args.action == "crossval":
        # The shipped base model has seen these rows: each fold gets one that has not.
        report = cross_validate(classifier, rows, also, args.folds, now, args.confusions)
        print(f"{args.folds}-fold cross-validation (rules + a base model per fold):")
        print("\n".join(report.lines()))
        return 0
    names = ", ".join(Path(name).name for name in args.files)
    model = pretrain(rows, classifier.features, now, f"corpus: {names}")
    model.save(Path(args.output))
    heads = ", ".join(h for h in ("categories", "urgent") if getattr(model, h) is not None)
    print(f"trained on {model.examples} labelled complaints ({names}): departments, {heads}")
    print(f"written to {args.output}")
    return 0


def _train(config: HotlineConfig, classifier: Classifier, path: Path) -> int:
    from hotline.classification import train_from_tickets
    from hotline.db import create_engine, session_factory
    from nlp.training import TrainingError

    async def run() -> TrainedModel:
        engine = create_engine(config.database.url)
        try:
            return await train_from_tickets(
                session_factory(engine), classifier, path, datetime.now(UTC)
            )
        finally:
            await engine.dispose()

    try:
        model = asyncio.run(run())
    except TrainingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    categories = "none" if model.categories is None else len(model.categories.classes)
    print(
        f"trained on {model.examples} confirmed tickets: "
        f"{len(model.departments.classes)} departments, {categories} categories"
    )
    print(f"written to {path}; running servers load it within a minute")
    return 0


def cmd_cases(args: argparse.Namespace) -> int:
    return cases_command(args, _config(args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotline", description=__doc__)
    parser.add_argument("--config", help="TOML config file (default: $HOTLINE_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run SIP gateway, console and forwarding sender")
    serve.add_argument("--migrate", action="store_true", help="upgrade the database first")
    serve.add_argument("--log-level", default="INFO")
    serve.add_argument("--plain-logs", action="store_true", help="human-readable logs")
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="upgrade (or downgrade) the database schema")
    migrate.add_argument("revision", nargs="?", default="head")
    migrate.add_argument("--downgrade", metavar="REVISION", help="downgrade to this revision")
    migrate.set_defaults(func=cmd_migrate)

    agents = sub.add_parser("agents", help="manage agents and shift leads")
    actions = agents.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add an agent (passwords prompted or read from stdin)")
    add.add_argument("agent_id")
    add.add_argument("--name", required=True)
    add.add_argument("--role", choices=ROLES, default="agent")
    add.add_argument("--password")
    add.add_argument("--sip-password")
    actions.add_parser("list", help="list agents")
    role = actions.add_parser("role", help="give an agent another role (ends their sessions)")
    role.add_argument("agent_id")
    role.add_argument("role", choices=ROLES)
    for verb, text in (("deactivate", "no more logins; sessions end"), ("activate", "undo")):
        actions.add_parser(verb, help=text).add_argument("agent_id")
    passwd = actions.add_parser("passwd", help="set a console and/or SIP password")
    passwd.add_argument("agent_id")
    passwd.add_argument("--password")
    passwd.add_argument("--sip-password")
    agents.set_defaults(func=cmd_agents)

    demo = sub.add_parser("demo-agents", help="create the demo agents if missing")
    demo.set_defaults(func=cmd_demo_agents)

    classify = sub.add_parser(
        "classify", help="classify complaints: one per stdin line → JSON lines"
    )
    classify.set_defaults(func=cmd_classify)
    nlp_parser = sub.add_parser("nlp", help="classifier tools")
    nlp_actions = nlp_parser.add_subparsers(dest="action", required=True)
    evaluate = nlp_actions.add_parser(
        "evaluate", help="accuracy on a CSV with columns text,department[,category_code,urgent]"
    )
    evaluate.add_argument("file")
    evaluate.add_argument("--confusions", type=int, default=10)
    tipdm = nlp_actions.add_parser(
        "evaluate-tipdm", help="accuracy on TipDM 2020 C's tipdm2020c_messages_l1.csv (4 classes)"
    )
    tipdm.add_argument("file")
    tipdm.add_argument("--confusions", type=int, default=10)
    tipdm.add_argument(
        "--min-accuracy", type=float, default=0.0, help="exit 1 below this 4-class accuracy"
    )
    train = nlp_actions.add_parser(
        "train", help="train the learned model on confirmed tickets ([nlp] model_path)"
    )
    train.add_argument("--output", help="model file (default: [nlp] model_path)")
    pretrain = nlp_actions.add_parser(
        "pretrain", help="train the shipped base model on labelled CSVs (nlp/data/base_model.json)"
    )
    pretrain.add_argument(
        "files", nargs="+", help="CSV files: text,department[,category_code,urgent]"
    )
    pretrain.add_argument("--output", required=True, help="model file to write")
    crossval = nlp_actions.add_parser(
        "crossval", help="k-fold figures of rules + a base model trained without each fold"
    )
    crossval.add_argument("file", help="labelled CSV split into folds")
    crossval.add_argument("--also", nargs="*", default=[], help="CSVs always in training")
    crossval.add_argument("--folds", type=int, default=5)
    crossval.add_argument("--confusions", type=int, default=10)
    nlp_parser.set_defaults(func=cmd_nlp)

    staffing = sub.add_parser("staffing", help="agents needed for a service level (Erlang C)")
    staffing.add_argument("--calls-per-hour", type=float)
    staffing.add_argument("--aht", type=float, help="average handle time, seconds")
    staffing.add_argument("--roster", help="roster CSV: per hour rostered vs needed")
    staffing.add_argument("--arrivals", help="CSV of a day's arrivals (time, or hour,calls)")
    staffing.add_argument("--day", type=date.fromisoformat, help="roster day (default: first)")
    staffing.add_argument("--target-sl", type=float, default=0.8, help="e.g. 0.8 for 80 %%")
    staffing.add_argument("--target-seconds", type=float, default=15.0)
    staffing.add_argument("--max-occupancy", type=float, default=1.0)
    staffing.add_argument(
        "--simulate-hours",
        type=float,
        default=0.0,
        help="also replay this many hours of random arrivals",
    )
    staffing.add_argument("--seed", type=int, default=12319)
    staffing.add_argument("--json", action="store_true")
    staffing.set_defaults(func=cmd_staffing)
    add_admin_parsers(sub)
    add_data_parsers(sub)
    add_backup_parsers(sub)
    add_roster_parser(sub)
    sub.choices["roster"].set_defaults(func=cmd_roster)
    add_report_parser(sub)
    sub.choices["report"].set_defaults(func=cmd_report)
    add_cases_parser(sub)
    sub.choices["cases"].set_defaults(func=cmd_cases)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
